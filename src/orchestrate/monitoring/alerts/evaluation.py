"""One rule's alerts moved on by one evaluation: pure, so the clock is the caller's.

As Prometheus does: a series whose value meets the condition is *active*; its alert is
``pending`` until it has been active for ``for`` (at once when ``for`` is 0), then
``firing``. A pending alert whose series stops being active is dropped; a firing one
stays firing for ``keep_firing_for`` after its series was last active, then resolves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from orchestrate.monitoring.alerts.models import Alert, AlertState, RuleSpec, fingerprint


@dataclass(frozen=True)
class Series:
    """A metric's value for one set of label values."""

    labels: Mapping[str, str]
    value: float


class Change(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    DROPPED = "dropped"
    """A pending alert whose series went inactive: it never fired, it is forgotten."""


@dataclass(frozen=True)
class Transition:
    alert: Alert
    change: Change


@dataclass(frozen=True)
class RuleOutcome:
    alerts: list[Alert]
    """Every alert of the rule still open (pending or firing), and those that just resolved."""
    transitions: list[Transition]


def alert_labels(rule: RuleSpec, series: Mapping[str, str]) -> dict[str, str]:
    """The series' labels, the rule's own labels over them, then ``alertname`` and
    ``severity`` (what routes, silences and receivers match on)."""
    return {**series, **rule.labels, "alertname": rule.name, "severity": rule.severity.value}


_TEMPLATE = re.compile(r"\{\{\s*\$(value|labels\.([A-Za-z_][A-Za-z0-9_]*))\s*\}\}")


def expand(text: str, labels: Mapping[str, str], value: float) -> str:
    """``{{ $value }}`` and ``{{ $labels.name }}`` in an annotation, as Prometheus has them."""

    def replace_one(match: re.Match[str]) -> str:
        if match.group(1) == "value":
            return f"{value:g}"
        return labels.get(match.group(2) or "", "")

    return _TEMPLATE.sub(replace_one, text)


def advance_rule(
    rule: RuleSpec,
    active: Sequence[Series],
    open_alerts: Sequence[Alert],
    now: datetime,
    new_id: Callable[[], str],
) -> RuleOutcome:
    """Move ``rule``'s open alerts on, given the series active now."""
    by_fingerprint = {alert.fingerprint: alert for alert in open_alerts}
    alerts: list[Alert] = []
    transitions: list[Transition] = []
    seen: set[str] = set()
    for series in active:
        labels = alert_labels(rule, series.labels)
        key = fingerprint(rule.name, labels)
        if key in seen:
            continue
        seen.add(key)
        annotations = {k: expand(v, labels, series.value) for k, v in rule.annotations.items()}
        alert = by_fingerprint.get(key)
        if alert is None:
            firing = rule.for_.total_seconds() <= 0
            alert = Alert(
                id=new_id(),
                rule=rule.name,
                fingerprint=key,
                labels=labels,
                annotations=annotations,
                state=AlertState.FIRING if firing else AlertState.PENDING,
                value=series.value,
                active_at=now,
                last_active_at=now,
                fired_at=now if firing else None,
            )
            transitions.append(Transition(alert, Change.FIRING if firing else Change.PENDING))
        else:
            alert = replace(alert, value=series.value, last_active_at=now, annotations=annotations)
            if alert.state is AlertState.PENDING and now - alert.active_at >= rule.for_:
                alert = replace(alert, state=AlertState.FIRING, fired_at=now)
                transitions.append(Transition(alert, Change.FIRING))
        alerts.append(alert)
    for alert in open_alerts:
        if alert.fingerprint in seen:
            continue
        if alert.state is AlertState.PENDING:
            transitions.append(Transition(alert, Change.DROPPED))
        elif now - alert.last_active_at >= rule.keep_firing_for:
            resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=now)
            transitions.append(Transition(resolved, Change.RESOLVED))
            alerts.append(resolved)
        else:
            alerts.append(alert)  # keeps firing for a while after its series went quiet
    return RuleOutcome(alerts, transitions)


def resolve_orphans(open_alerts: Sequence[Alert], now: datetime) -> RuleOutcome:
    """The open alerts of a rule that no longer exists: firing ones resolve, pending
    ones are dropped."""
    alerts: list[Alert] = []
    transitions: list[Transition] = []
    for alert in open_alerts:
        if alert.state is AlertState.PENDING:
            transitions.append(Transition(alert, Change.DROPPED))
        else:
            resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=now)
            transitions.append(Transition(resolved, Change.RESOLVED))
            alerts.append(resolved)
    return RuleOutcome(alerts, transitions)
