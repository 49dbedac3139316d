"""Which channels hear of which alerts, grouped, and when: Alertmanager's rules, pure.

* **Routes.** A rule's ``notify: [ch]`` is a route of its own (matching its alerts,
  grouped by ``alertname``, with the rule's timings); the routes of the alerts files
  follow in order. An alert goes to the first matching route, and on to the next ones
  while the matching route says ``continue`` (the shorthand routes always continue).
* **Silences and inhibition.** An alert matched by an active silence, or inhibited by a
  firing alert, is left out of notifications (it still fires and is listed).
* **Groups.** A route's alerts with the same values of its ``group_by`` labels form a
  group. A new group is notified ``group_wait`` after its first alert; a group whose
  content changed (alerts firing, resolving, acknowledged) is notified again at most
  every ``group_interval``; an unchanged group still firing and not acknowledged is
  notified again every ``repeat_interval``. A group all of whose notified alerts
  resolved gets one resolved notification and is closed. An alert resolved that was
  never in a firing notification is never announced as resolved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orchestrate.monitoring.alerts.models import (
    Alert,
    AlertState,
    InhibitRuleSpec,
    Matcher,
    RouteSpec,
    RuleSpec,
    Silence,
    matches_all,
)


@dataclass(frozen=True)
class Route:
    id: str
    matchers: tuple[Matcher, ...]
    channels: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    continue_: bool


def build_routes(rules: Iterable[RuleSpec], routes: Iterable[tuple[str, RouteSpec]]) -> list[Route]:
    """The rules' shorthand routes, then the files' routes (``(id, spec)`` in order)."""
    built = [
        Route(
            id=f"rule:{rule.name}",
            matchers=(Matcher("alertname", "=", rule.name),),
            channels=rule.notify,
            group_by=("alertname",),
            group_wait=rule.group_wait,
            group_interval=rule.group_interval,
            repeat_interval=rule.repeat_interval,
            continue_=True,
        )
        for rule in rules
        if rule.notify
    ]
    built += [
        Route(
            id=route_id,
            matchers=spec.matchers,
            channels=spec.channels,
            group_by=spec.group_by,
            group_wait=spec.group_wait,
            group_interval=spec.group_interval,
            repeat_interval=spec.repeat_interval,
            continue_=spec.continue_,
        )
        for route_id, spec in routes
    ]
    return built


def routes_for(labels: Mapping[str, str], routes: Sequence[Route]) -> list[Route]:
    matched: list[Route] = []
    for route in routes:
        if matches_all(route.matchers, labels):
            matched.append(route)
            if not route.continue_:
                break
    return matched


def suppression(
    alert: Alert,
    firing: Sequence[Alert],
    silences: Sequence[Silence],
    inhibitions: Sequence[InhibitRuleSpec],
    now: datetime,
) -> str | None:
    """Why ``alert`` is held back from notifications: a silence's id, ``inhibited``, or None."""
    for silence in silences:
        if silence.active_at(now) and matches_all(silence.matchers, alert.labels):
            return silence.id
    for rule in inhibitions:
        if not matches_all(rule.target_matchers, alert.labels):
            continue
        for source in firing:
            if source.fingerprint == alert.fingerprint:
                continue
            if matches_all(rule.source_matchers, source.labels) and all(
                source.labels.get(name, "") == alert.labels.get(name, "") for name in rule.equal
            ):
                return "inhibited"
    return None


@dataclass
class Group:
    """A route's alerts that share its grouping labels, as last notified."""

    key: str
    route_id: str
    group_labels: dict[str, str]
    first_seen_at: datetime
    last_notified_at: datetime | None = None
    notified_hash: str | None = None
    notified_firing: set[str] = field(default_factory=set)
    """Fingerprints of the alerts its last notification announced as firing."""
    version: int = 0


def group_key(route: Route, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    values = {name: labels.get(name, "") for name in route.group_by}
    text = json.dumps([route.id, sorted(values.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32], values


@dataclass(frozen=True)
class Send:
    """A notification due now: the group's members as they are."""

    group: Group
    route: Route
    firing: tuple[Alert, ...]
    resolved: tuple[Alert, ...]
    repeat: bool

    @property
    def status(self) -> str:
        return "firing" if self.firing else "resolved"

    @property
    def acknowledged(self) -> bool:
        return bool(self.firing) and all(a.acknowledged_at is not None for a in self.firing)


@dataclass(frozen=True)
class Plan:
    sends: list[Send]
    groups: dict[str, Group]
    """Every group still open afterwards (closed ones are left out)."""


def plan(
    alerts: Sequence[Alert],
    routes: Sequence[Route],
    groups: Mapping[str, Group],
    now: datetime,
) -> Plan:
    """Which groups are notified now. ``alerts`` are every open alert and those resolved
    since they were last notified, each with its ``suppressed_by`` already decided."""
    members: dict[str, tuple[Route, dict[str, str], list[Alert]]] = {}
    for alert in alerts:
        for route in routes_for(alert.labels, routes):
            key, values = group_key(route, alert.labels)
            members.setdefault(key, (route, values, []))[2].append(alert)
    by_route = {route.id: route for route in routes}
    sends: list[Send] = []
    kept: dict[str, Group] = {}
    for key in set(members) | set(groups):
        if key in members:
            route, values, found = members[key]
        elif groups[key].route_id in by_route:
            route, values, found = by_route[groups[key].route_id], groups[key].group_labels, []
        else:
            continue  # its route is gone: nothing more is said about it
        group = groups.get(key) or Group(key, route.id, values, first_seen_at=now)
        firing = tuple(
            sorted(
                (a for a in found if a.state is AlertState.FIRING and a.suppressed_by is None),
                key=lambda a: a.fingerprint,
            )
        )
        resolved = tuple(
            sorted(
                (
                    a
                    for a in found
                    if a.fingerprint in group.notified_firing and a.state is AlertState.RESOLVED
                ),
                key=lambda a: a.fingerprint,
            )
        )
        send = _decide(group, route, firing, resolved, now)
        if send is not None:
            sends.append(send)
            group.last_notified_at = now
            group.notified_hash = _content(firing, resolved)
            group.notified_firing = {a.fingerprint for a in firing}
            group.version += 1
            if not firing:
                continue  # all it announced resolved: the group is closed
        if group.last_notified_at is None and not firing:
            continue  # never notified and nothing fires in it now
        kept[key] = group
    return Plan(sends, kept)


def _decide(
    group: Group,
    route: Route,
    firing: tuple[Alert, ...],
    resolved: tuple[Alert, ...],
    now: datetime,
) -> Send | None:
    if group.last_notified_at is None:
        if firing and now >= group.first_seen_at + route.group_wait:
            return Send(group, route, firing, resolved, repeat=False)
        return None
    if not firing and not resolved:
        return None
    since = now - group.last_notified_at
    if _content(firing, resolved) != group.notified_hash:
        if since >= route.group_interval:
            return Send(group, route, firing, resolved, repeat=False)
        return None
    still_firing = firing and not all(a.acknowledged_at is not None for a in firing)
    if still_firing and since >= route.repeat_interval:
        return Send(group, route, firing, resolved, repeat=True)
    return None


def _content(firing: Sequence[Alert], resolved: Sequence[Alert]) -> str:
    parts = [(a.fingerprint, "firing", a.acknowledged_at is not None) for a in firing]
    parts += [(a.fingerprint, "resolved", False) for a in resolved]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
