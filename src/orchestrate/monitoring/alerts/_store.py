"""The SQL of alerting: rule sources, alerts, silences, groups, and the metric reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from orchestrate.core.events import count_events
from orchestrate.core.pagination import Page
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.alerts.models import (
    Alert,
    AlertState,
    Matcher,
    Silence,
)
from orchestrate.monitoring.alerts.routing import Group
from orchestrate.monitoring.alerts.tables import (
    AlertGroupRow,
    AlertRow,
    AlertRuleSourceRow,
    AlertSilenceRow,
)

# --- rule sources ---------------------------------------------------------------------


async def rule_sources(uow: UnitOfWork) -> list[AlertRuleSourceRow]:
    rows = await uow.session.scalars(select(AlertRuleSourceRow).order_by(AlertRuleSourceRow.source))
    return list(rows)


async def put_rule_source(
    uow: UnitOfWork, source: str, document: dict[str, Any], actor: str
) -> None:
    row = await uow.session.get(AlertRuleSourceRow, source)
    if row is None:
        uow.session.add(
            AlertRuleSourceRow(
                source=source, document=document, applied_at=uow.now(), applied_by=actor
            )
        )
    else:
        row.document, row.applied_at, row.applied_by = document, uow.now(), actor


async def delete_rule_source(uow: UnitOfWork, source: str) -> bool:
    result = await uow.session.execute(
        delete(AlertRuleSourceRow).where(AlertRuleSourceRow.source == source)
    )
    return bool(getattr(result, "rowcount", 0))


# --- alerts -----------------------------------------------------------------------------


def _alert(row: AlertRow) -> Alert:
    return Alert(
        id=row.id,
        rule=row.rule,
        fingerprint=row.fingerprint,
        labels=dict(row.labels),
        annotations=dict(row.annotations),
        state=AlertState(row.state),
        value=row.value,
        active_at=row.active_at,
        last_active_at=row.last_active_at,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        suppressed_by=row.suppressed_by,
    )


async def unsettled_alerts(uow: UnitOfWork) -> list[Alert]:
    """Open alerts, and resolved ones a notification group still has to announce."""
    rows = await uow.session.scalars(select(AlertRow).where(AlertRow.settled.is_(False)))
    return [_alert(row) for row in rows]


async def save_alert(uow: UnitOfWork, alert: Alert, settled: bool) -> None:
    row = await uow.session.get(AlertRow, alert.id)
    is_open = alert.state is not AlertState.RESOLVED
    values = {
        "rule": alert.rule,
        "fingerprint": alert.fingerprint,
        "open_fingerprint": alert.fingerprint if is_open else None,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "state": alert.state.value,
        "value": alert.value,
        "active_at": alert.active_at,
        "last_active_at": alert.last_active_at,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "suppressed_by": alert.suppressed_by,
        "settled": settled,
        "updated_at": uow.now(),
    }
    if row is None:
        uow.session.add(AlertRow(id=alert.id, **values))
        return
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def drop_alert(uow: UnitOfWork, alert_id: str) -> None:
    await uow.session.execute(delete(AlertRow).where(AlertRow.id == alert_id))


async def find_alert(uow: UnitOfWork, alert_id: str) -> AlertRow | None:
    return await uow.session.get(AlertRow, alert_id)


def to_alert(row: AlertRow) -> Alert:
    return _alert(row)


async def alerts_page(
    uow: UnitOfWork, state: AlertState | None, limit: int, cursor: str | None
) -> Page[Alert]:
    """Alerts, newest first by id; ``state`` None: every alert kept."""
    query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit + 1)
    if state is not None:
        query = query.where(AlertRow.state == state.value)
    if cursor:
        query = query.where(AlertRow.id < cursor)
    rows = list(await uow.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[_alert(r) for r in rows], next_cursor=rows[-1].id if more else None)


async def resolved_before(
    uow: UnitOfWork, cutoff: datetime, after: str | None, limit: int
) -> list[str]:
    query = (
        select(AlertRow.id)
        .where(AlertRow.settled.is_(True), AlertRow.resolved_at < cutoff)
        .order_by(AlertRow.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(AlertRow.id > after)
    return list(await uow.session.scalars(query))


async def delete_alerts(uow: UnitOfWork, ids: Sequence[str], cutoff: datetime) -> int:
    result = await uow.session.execute(
        delete(AlertRow).where(
            AlertRow.id.in_(list(ids)), AlertRow.settled.is_(True), AlertRow.resolved_at < cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- silences ---------------------------------------------------------------------------


def _silence(row: AlertSilenceRow) -> Silence:
    return Silence(
        id=row.id,
        matchers=tuple(Matcher.parse(text) for text in row.matchers),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        comment=row.comment,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def silences(uow: UnitOfWork, *, ending_after: datetime | None = None) -> list[Silence]:
    query = select(AlertSilenceRow).order_by(AlertSilenceRow.created_at, AlertSilenceRow.id)
    if ending_after is not None:
        query = query.where(AlertSilenceRow.ends_at > ending_after)
    return [_silence(row) for row in await uow.session.scalars(query)]


async def add_silence(uow: UnitOfWork, silence: Silence) -> None:
    uow.session.add(
        AlertSilenceRow(
            id=silence.id,
            matchers=[str(m) for m in silence.matchers],
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            comment=silence.comment,
            created_by=silence.created_by,
            created_at=silence.created_at,
        )
    )


async def find_silence(uow: UnitOfWork, silence_id: str) -> AlertSilenceRow | None:
    return await uow.session.get(AlertSilenceRow, silence_id)


def to_silence(row: AlertSilenceRow) -> Silence:
    return _silence(row)


async def expired_silences_before(
    uow: UnitOfWork, cutoff: datetime, after: str | None, limit: int
) -> list[str]:
    query = (
        select(AlertSilenceRow.id)
        .where(AlertSilenceRow.ends_at < cutoff)
        .order_by(AlertSilenceRow.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(AlertSilenceRow.id > after)
    return list(await uow.session.scalars(query))


async def delete_silences(uow: UnitOfWork, ids: Sequence[str], cutoff: datetime) -> int:
    result = await uow.session.execute(
        delete(AlertSilenceRow).where(
            AlertSilenceRow.id.in_(list(ids)), AlertSilenceRow.ends_at < cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- groups -----------------------------------------------------------------------------


async def groups(uow: UnitOfWork) -> dict[str, Group]:
    rows = await uow.session.scalars(select(AlertGroupRow))
    return {
        row.key: Group(
            key=row.key,
            route_id=row.route_id,
            group_labels=dict(row.group_labels),
            first_seen_at=row.first_seen_at,
            last_notified_at=row.last_notified_at,
            notified_hash=row.notified_hash,
            notified_firing=set(row.notified_firing),
            version=row.version,
        )
        for row in rows
    }


async def save_groups(uow: UnitOfWork, kept: dict[str, Group]) -> None:
    """Store the open groups as ``kept`` has them; delete the others."""
    rows = {row.key: row for row in await uow.session.scalars(select(AlertGroupRow))}
    for key, row in rows.items():
        if key not in kept:
            await uow.session.delete(row)
    for key, group in kept.items():
        found = rows.get(key)
        if found is None:
            found = AlertGroupRow(key=key)
            uow.session.add(found)
        row = found
        row.route_id = group.route_id
        row.group_labels = group.group_labels
        row.first_seen_at = group.first_seen_at
        row.last_notified_at = group.last_notified_at
        row.notified_hash = group.notified_hash
        row.notified_firing = sorted(group.notified_firing)
        row.version = group.version


# --- metric reads -------------------------------------------------------------------------


async def event_counts(
    uow: UnitOfWork, types: Sequence[str], since: datetime, label: str | None
) -> list[tuple[str, str | None, int]]:
    return await count_events(uow.session, types, since, label)
