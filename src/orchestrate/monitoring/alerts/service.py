"""Use cases of alerting: apply rule files, evaluate, list and acknowledge alerts, silence.

Evaluation runs in the workers as the durable event consumer ``monitoring.alerts``
(``alert_consumer``): one worker at a time, at once when an event that feeds a rule's
metric is committed, and every ``alert_evaluation_seconds`` otherwise (``for`` and
``keep_firing_for`` run on time, windows slide, gauges are read again). One evaluation
is one transaction: the alerts' new states, their events, the notification groups and
the notifications' durable send jobs commit together, so a worker that dies between
evaluating and sending loses nothing, and the next evaluation cannot send twice what
this one queued (each send is a job keyed by its group's version).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from ruamel.yaml.error import YAMLError

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.bounded_yaml import load_bounded
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.events import Consumer, Event, record_event
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.alerts import _store as store
from orchestrate.monitoring.channels import service as channels
from orchestrate.monitoring.alerts.catalogue import (
    BUILTIN_RULES,
    BUILTIN_SOURCE,
    METRICS,
    SOURCE_TYPES,
    Kind,
)
from orchestrate.monitoring.alerts.evaluation import (
    Change,
    RuleOutcome,
    Transition,
    advance_rule,
    resolve_orphans,
)
from orchestrate.monitoring.alerts.models import (
    Alert,
    AlertsFile,
    AlertState,
    InhibitRuleSpec,
    Matcher,
    RouteSpec,
    RuleSpec,
    Silence,
)
from orchestrate.monitoring.alerts.readings import Reading, read_all
from orchestrate.monitoring.alerts.routing import Send, build_routes, plan, suppression
from orchestrate.monitoring.events import (
    AlertAcknowledged,
    AlertFiring,
    AlertPending,
    AlertResolved,
    AlertRulesApplied,
    AlertRulesRemoved,
    SilenceCreated,
    SilenceExpired,
)
from orchestrate.monitoring.notifications import AlertPayload, Notification, enqueue_notification

log = structlog.get_logger(__name__)

CONSUMER = "monitoring.alerts"
MAX_FILE_BYTES = 1_000_000
MAX_SILENCE = timedelta(days=366)
_SAVE_QUIET_VALUES_EVERY = timedelta(seconds=30)


# --- rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertConfig:
    rules: list[tuple[str, RuleSpec]]
    """``(source, rule)``, by source then as written."""
    routes: list[tuple[str, RouteSpec]]
    """``(route id, route)``: ``<source>#<n>``."""
    inhibit_rules: list[InhibitRuleSpec]


def parse_alerts_file(text: str, source: str) -> tuple[AlertsFile, dict[str, Any]]:
    """A file's YAML checked against the format and the metric catalogue; the problem and
    its place (line, or the path of the field) otherwise."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise ValidationFailed(f"{source}: an alerts file is at most {MAX_FILE_BYTES} bytes")
    try:
        document = load_bounded(text, typ="safe")
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValidationFailed(f"{source}:{where}: {problem}", source=source) from None
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise ValidationFailed(f"{source}: an alerts file is a mapping with 'rules:'")
    try:
        parsed = AlertsFile.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(
            f"{source}: {where}: {first['msg']}", source=source, problems=error.error_count()
        ) from None
    for index, rule in enumerate(parsed.rules):
        _check_rule(rule, f"{source}: rules.{index} ({rule.name})")
    names = [rule.name for rule in parsed.rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValidationFailed(f"{source}: rule names appear twice: {', '.join(duplicates)}")
    return parsed, document


def _check_rule(rule: RuleSpec, where: str) -> None:
    metric = METRICS.get(rule.metric)
    if metric is None:
        known = ", ".join(sorted(METRICS))
        raise ValidationFailed(f"{where}: unknown metric {rule.metric!r}; known: {known}")
    unknown = [label for label in rule.by if label not in metric.labels]
    if unknown:
        allowed = ", ".join(metric.labels) or "none"
        raise ValidationFailed(
            f"{where}: {rule.metric} cannot be split by {', '.join(unknown)} (labels: {allowed})"
        )
    if metric.kind is Kind.SUM and len(rule.by) > 1:
        raise ValidationFailed(f"{where}: cost_usd is split by agent_type or by model, not both")


async def apply_rules(uow: UnitOfWork, source: str, text: str, actor: Actor) -> AlertsFile:
    """Replace what ``source`` (a file's path, or a name) contributes: its rules, routes
    and inhibit rules. Rule names must be unique across every source."""
    auth.authorize(actor, Permission.WRITE)
    parsed, document = parse_alerts_file(text, source)
    async with uow:
        await _put_rules(uow, source, parsed, document, actor)
        await uow.commit()
    return parsed


async def _put_rules(
    uow: UnitOfWork, source: str, parsed: AlertsFile, document: dict[str, Any], actor: Actor
) -> None:
    if source == BUILTIN_SOURCE:
        raise ValidationFailed(f"the source name {BUILTIN_SOURCE!r} is reserved for built-in rules")
    others = await _config(uow, leave_out=source)
    taken = {rule.name: where for where, rule in others.rules}
    clashes = sorted(rule.name for rule in parsed.rules if rule.name in taken)
    if clashes:
        raise ValidationFailed(
            f"{source}: rule {clashes[0]!r} is already defined by {taken[clashes[0]]}"
        )
    named = {name for rule in parsed.rules for name in rule.notify}
    named |= {name for route in parsed.routes for name in route.channels}
    unknown = sorted(named - await channels.channel_names_in(uow))
    if unknown:
        raise ValidationFailed(
            f"{source}: no notification channel named {', '.join(unknown)}; add it first "
            "with 'orchestrate notify add' (see 'orchestrate notify channels')",
            source=source,
        )
    await store.put_rule_source(uow, source, document, actor.name)
    record_event(
        uow,
        AlertRulesApplied(
            subject=source,
            source=source,
            rules=[rule.name for rule in parsed.rules],
            routes=len(parsed.routes),
            inhibit_rules=len(parsed.inhibit_rules),
            by=actor.name,
        ),
    )
    await auth.record_audit(uow, actor, "alert.rules_apply", source, {"rules": len(parsed.rules)})


async def remove_rules(uow: UnitOfWork, source: str, actor: Actor) -> None:
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        if not await store.delete_rule_source(uow, source):
            raise NotFound(f"No alert rules from {source!r}; see 'orchestrate alert rules'")
        record_event(uow, AlertRulesRemoved(subject=source, source=source, by=actor.name))
        await auth.record_audit(uow, actor, "alert.rules_remove", source, None)
        await uow.commit()


async def alert_config(uow: UnitOfWork) -> AlertConfig:
    async with uow:
        return await _config(uow)


@functools.cache
def _builtin() -> AlertsFile:
    return parse_alerts_file(BUILTIN_RULES, BUILTIN_SOURCE)[0]


async def _config(uow: UnitOfWork, leave_out: str | None = None) -> AlertConfig:
    builtin = _builtin()
    rules: list[tuple[str, RuleSpec]] = [(BUILTIN_SOURCE, rule) for rule in builtin.rules]
    routes: list[tuple[str, RouteSpec]] = []
    inhibit: list[InhibitRuleSpec] = list(builtin.inhibit_rules)
    for row in await store.rule_sources(uow):
        if row.source in (leave_out, BUILTIN_SOURCE):
            continue
        try:
            parsed = AlertsFile.model_validate(row.document)
        except ValidationError:  # validated when applied; a later version may differ
            continue
        rules += [(row.source, rule) for rule in parsed.rules if rule.metric in METRICS]
        routes += [(f"{row.source}#{n}", route) for n, route in enumerate(parsed.routes)]
        inhibit += parsed.inhibit_rules
    return AlertConfig(rules, routes, inhibit)


@dataclass
class _FolderSeen:
    signature: tuple[tuple[str, float, int], ...] | None = None


_seen_folders: dict[Path, _FolderSeen] = defaultdict(_FolderSeen)


async def sync_rule_files(runtime: Runtime, *, force: bool = False) -> list[str]:
    """Apply ``<home>/alerts/*.yml`` in a transaction of its own (see ``sync_rule_files_in``)."""
    async with runtime.uow() as uow:
        applied = await sync_rule_files_in(uow, runtime.settings.home, force=force)
        await uow.commit()
    return applied


async def sync_rule_files_in(uow: UnitOfWork, home: Path, *, force: bool = False) -> list[str]:
    """Apply ``<home>/alerts/*.yml`` (and ``.yaml``) when the folder changed since this
    process last looked, in the caller's entered transaction: each file is its own
    source (its path); a removed file's rules go. A file that does not validate is
    skipped with a warning and keeps what it applied before. Returns the sources applied."""
    folder = home / "alerts"
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    try:
        signature = tuple((str(p), p.stat().st_mtime, p.stat().st_size) for p in files)
    except OSError:  # a file went away while we looked: look again next time
        return []
    seen = _seen_folders[folder]
    if not force and seen.signature == signature:
        return []
    seen.signature = signature
    system = Actor.system("alerts")
    applied: list[str] = []
    for path in files:
        try:
            parsed, document = parse_alerts_file(path.read_text(), str(path))
            await _put_rules(uow, str(path), parsed, document, system)
            applied.append(str(path))
        except (ValidationFailed, OSError, UnicodeDecodeError) as error:
            log.warning("alert_rule_file_skipped", path=str(path), error=str(error))
    present = {str(path) for path in files}
    for row in await store.rule_sources(uow):
        if row.source.startswith(str(folder) + "/") and row.source not in present:
            await store.delete_rule_source(uow, row.source)
            record_event(
                uow, AlertRulesRemoved(subject=row.source, source=row.source, by=system.name)
            )
    return applied


# --- evaluation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    at: datetime
    rules: int
    firing: int
    pending: int
    transitions: tuple[Transition, ...]
    notifications: tuple[Notification, ...]


async def evaluate(runtime: Runtime) -> Evaluation:
    """Evaluate every rule now, move the alerts on, and queue the notifications due."""
    async with runtime.uow() as uow:
        result = await evaluate_in(uow)
        await uow.commit()
    return result


async def evaluate_in(uow: UnitOfWork) -> Evaluation:
    """``evaluate`` in the caller's entered transaction, which commits it."""
    now = uow.now()
    config = await _config(uow)
    wanted: set[Reading] = {
        (
            rule.metric,
            rule.window if METRICS[rule.metric].kind is not Kind.GAUGE else timedelta(0),
            rule.by,
        )
        for _, rule in config.rules
    }
    readings = await read_all(uow, wanted, now)
    unsettled = await store.unsettled_alerts(uow)
    previous = {alert.id: alert for alert in unsettled}
    open_by_rule: dict[str, list[Alert]] = defaultdict(list)
    resolved_earlier: list[Alert] = []
    for alert in unsettled:
        if alert.state is AlertState.RESOLVED:
            resolved_earlier.append(alert)
        else:
            open_by_rule[alert.rule].append(alert)
    outcomes: list[RuleOutcome] = []
    keep_firing = {rule.name for _, rule in config.rules if rule.keep_firing_for}
    for _, rule in config.rules:
        key: Reading = (
            rule.metric,
            rule.window if METRICS[rule.metric].kind is not Kind.GAUGE else timedelta(0),
            rule.by,
        )
        condition = rule.parsed_condition
        active = [series for series in readings[key] if condition.holds(series.value)]
        outcomes.append(
            advance_rule(
                rule, active, open_by_rule.pop(rule.name, []), now, lambda: new_id("alr", now)
            )
        )
    for orphans in open_by_rule.values():
        outcomes.append(resolve_orphans(orphans, now))
    current = [alert for outcome in outcomes for alert in outcome.alerts] + resolved_earlier
    transitions = [t for outcome in outcomes for t in outcome.transitions]
    firing = [alert for alert in current if alert.state is AlertState.FIRING]
    silences = await store.silences(uow, ending_after=now)
    current = [
        replace(
            alert,
            suppressed_by=suppression(alert, firing, silences, config.inhibit_rules, now),
        )
        for alert in current
    ]
    routes = build_routes([rule for _, rule in config.rules], config.routes)
    planned = plan(current, routes, await store.groups(uow), now)
    waiting = {key for group in planned.groups.values() for key in group.notified_firing}
    for alert in current:
        settled = alert.state is AlertState.RESOLVED and alert.fingerprint not in waiting
        before = previous.get(alert.id)
        if _worth_saving(alert, before, settled, alert.rule in keep_firing, now):
            await store.save_alert(uow, alert, settled)
    for transition in transitions:
        if transition.change is Change.DROPPED:
            await store.drop_alert(uow, transition.alert.id)
        else:
            _record_transition(uow, transition)
    notifications = [
        _notification(send, channel) for send in planned.sends for channel in send.route.channels
    ]
    for notification in notifications:
        await enqueue_notification(uow, notification)
    await store.save_groups(uow, planned.groups)
    states = [a.state for a in current]
    return Evaluation(
        at=now,
        rules=len(config.rules),
        firing=states.count(AlertState.FIRING),
        pending=states.count(AlertState.PENDING),
        transitions=tuple(transitions),
        notifications=tuple(notifications),
    )


def _worth_saving(
    alert: Alert, before: Alert | None, settled: bool, keeps_firing: bool, now: datetime
) -> bool:
    """Skip writing an alert whose only news is its value and the time it was last
    active, unless that time matters (``keep_firing_for``) or has not been written for a
    while: a thousand steady alerts are not a thousand writes per evaluation."""
    if before is None or settled:
        return True
    if alert == before:
        return False
    quiet = replace(
        alert,
        value=before.value,
        last_active_at=before.last_active_at,
        annotations=before.annotations,
    )
    if quiet != before:
        return True  # its state, acknowledgement or suppression changed
    return keeps_firing or now - before.last_active_at >= _SAVE_QUIET_VALUES_EVERY


_EVENTS = {Change.PENDING: AlertPending, Change.FIRING: AlertFiring, Change.RESOLVED: AlertResolved}


def _record_transition(uow: UnitOfWork, transition: Transition) -> None:
    alert = transition.alert
    event = _EVENTS[transition.change]
    record_event(
        uow,
        event(
            subject=alert.id,
            rule=alert.rule,
            fingerprint=alert.fingerprint,
            severity=alert.labels.get("severity", ""),
            labels=alert.labels,
            value=alert.value,
        ),
    )


def _notification(send: Send, channel: str) -> Notification:
    group = send.group
    payloads = [
        AlertPayload(
            a.fingerprint, "firing", a.labels, a.annotations, a.fired_at or a.active_at, None
        )
        for a in send.firing
    ] + [
        AlertPayload(
            a.fingerprint,
            "resolved",
            a.labels,
            a.annotations,
            a.fired_at or a.active_at,
            a.resolved_at,
        )
        for a in send.resolved
    ]
    readable = ",".join(f'{name}="{value}"' for name, value in sorted(group.group_labels.items()))
    opened = int(group.first_seen_at.timestamp() * 1000)
    return Notification(
        id=f"ntf:{group.key}:{opened}:{group.version}:{channel}",
        channel=channel,
        group_key=f"{send.route.id}:{{{readable}}}",
        status=send.status,
        alerts=tuple(payloads),
        group_labels=dict(group.group_labels),
        common_labels=_common([p.labels for p in payloads]),
        common_annotations=_common([p.annotations for p in payloads]),
        acknowledged=send.acknowledged,
    )


def _common(maps: Sequence[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    shared = dict(maps[0])
    for other in maps[1:]:
        shared = {k: v for k, v in shared.items() if other.get(k) == v}
    return shared


def alert_consumer(runtime: Runtime) -> Consumer:
    """The durable consumer that evaluates the rules (registered by the composition root)."""

    home = runtime.settings.home

    async def apply(uow: UnitOfWork, events: Sequence[Event]) -> None:
        del events  # the rules read the log and the tables as they are now
        await sync_rule_files_in(uow, home)
        await evaluate_in(uow)

    return Consumer(
        CONSUMER,
        types=SOURCE_TYPES,
        batch_size=1000,
        batch=apply,
        tick=timedelta(seconds=runtime.settings.alert_evaluation_seconds),
    )


# --- alerts -----------------------------------------------------------------------------


async def list_alerts(
    uow: UnitOfWork, *, state: AlertState | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Alert]:
    check_page_size(limit)
    async with uow:
        return await store.alerts_page(uow, state, limit, cursor)


async def get_alert(uow: UnitOfWork, alert_id: str) -> Alert:
    async with uow:
        row = await store.find_alert(uow, alert_id)
        if row is None:
            raise NotFound(
                f"No alert {alert_id!r}; see 'orchestrate alert list'", alert_id=alert_id
            )
        return store.to_alert(row)


async def acknowledge(uow: UnitOfWork, alert_id: str, actor: Actor) -> Alert:
    """Mark a firing (or pending) alert as being handled: its group's next notification
    says so (PagerDuty: acknowledge) and it is not repeated any more."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.find_alert(uow, alert_id)
        if row is None:
            raise NotFound(
                f"No alert {alert_id!r}; see 'orchestrate alert list'", alert_id=alert_id
            )
        if row.state == AlertState.RESOLVED.value:
            raise ValidationFailed(f"Alert {alert_id} is resolved; there is nothing to acknowledge")
        if row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = uow.now(), actor.name
            record_event(uow, AlertAcknowledged(subject=row.id, rule=row.rule, by=actor.name))
            await auth.record_audit(uow, actor, "alert.ack", row.id, {"rule": row.rule})
        alert = store.to_alert(row)
        await uow.commit()
        return alert


# --- silences ---------------------------------------------------------------------------


async def create_silence(
    uow: UnitOfWork,
    matchers: Sequence[str],
    duration: timedelta,
    actor: Actor,
    *,
    comment: str = "",
    starts_at: datetime | None = None,
) -> Silence:
    """Hold back notifications of alerts matching every one of ``matchers`` for ``duration``."""
    auth.authorize(actor, Permission.WRITE)
    if not matchers:
        raise ValidationFailed("a silence needs at least one matcher, e.g. --match team=platform")
    try:
        parsed = tuple(Matcher.parse(text) for text in matchers)
    except ValueError as error:
        raise ValidationFailed(str(error)) from None
    if not timedelta(0) < duration <= MAX_SILENCE:
        raise ValidationFailed("a silence lasts more than 0s and at most a year")
    if len(comment) > 2000:
        raise ValidationFailed("a silence's comment is at most 2000 characters")
    async with uow:
        now = uow.now()
        start = starts_at or now
        silence = Silence(
            id=new_id("sil", now),
            matchers=parsed,
            starts_at=start,
            ends_at=start + duration,
            comment=comment,
            created_by=actor.name,
            created_at=now,
        )
        await store.add_silence(uow, silence)
        record_event(
            uow,
            SilenceCreated(
                subject=silence.id,
                matchers=[str(m) for m in parsed],
                starts_at=silence.starts_at.isoformat(),
                ends_at=silence.ends_at.isoformat(),
                comment=comment,
                by=actor.name,
            ),
        )
        await auth.record_audit(uow, actor, "alert.silence", silence.id, {"matchers": len(parsed)})
        await uow.commit()
        return silence


async def list_silences(uow: UnitOfWork, *, include_expired: bool = False) -> list[Silence]:
    async with uow:
        return await store.silences(uow, ending_after=None if include_expired else uow.now())


async def expire_silence(uow: UnitOfWork, silence_id: str, actor: Actor) -> Silence:
    """End a silence now (alerts it held back are notified at the next evaluation)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.find_silence(uow, silence_id)
        if row is None:
            raise NotFound(f"No silence {silence_id!r}; see 'orchestrate alert silences'")
        now = uow.now()
        if row.ends_at > now:
            row.ends_at = max(now, row.starts_at)
            record_event(uow, SilenceExpired(subject=row.id, by=actor.name))
            await auth.record_audit(uow, actor, "alert.unsilence", row.id, None)
        silence = store.to_silence(row)
        await uow.commit()
        return silence
