"""The triggers capability's SQL: storing, finding, locking and listing webhook deliveries.

Callers pass an entered unit of work and commit it themselves. Status changes are not
made here but by ``deliveries.set_status``, the one transition helper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer

from orchestrate.core.errors import NotFound
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import TimeCursor
from orchestrate.core.retention import Key
from orchestrate.core.retention.sql import delete_where, keys_where
from orchestrate.core.uow import UnitOfWork
from orchestrate.triggers.deliveries import ID_PREFIX, NewDelivery, to_delivery
from orchestrate.triggers.events import WebhookDeliveryReceived
from orchestrate.triggers.models import DeliveryStatus, WebhookDelivery
from orchestrate.triggers.tables import WebhookDeliveryRow

_deliveries: Table = WebhookDeliveryRow.__table__  # type: ignore[assignment]


async def insert_unless_known(uow: UnitOfWork, news: Sequence[NewDelivery]) -> list[str | None]:
    """Store every delivery whose delivery id is not stored yet.

    Returns, in the input's order, each delivery's row id, or None for one already
    stored (or repeated earlier in ``news``). ``INSERT … ON CONFLICT DO NOTHING``: two
    copies arriving at once on two connections cannot both be stored
    (PostgreSQL makes the second wait for the first).
    """
    now = uow.now()
    firsts: dict[str, dict[str, Any]] = {}
    for new in news:
        if new.delivery_id in firsts:
            continue
        firsts[new.delivery_id] = {
            "id": new_id(ID_PREFIX, now),
            "delivery_id": new.delivery_id,
            "forge": new.forge,
            "event": new.event,
            "action": new.action,
            "repository": new.repository,
            "headers": new.headers,
            "body": new.body,
            "status": DeliveryStatus.RECEIVED.value,
            "attempts": 0,
            "received_at": now,
        }
    if not firsts:
        return []
    dialect = uow.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(_deliveries)
        .on_conflict_do_nothing(index_elements=["delivery_id"])
        .returning(_deliveries.c.id)
    )
    # Many parameter sets: SQLAlchemy sends them as multi-row inserts from one cached
    # compilation (a literal multi-row VALUES would be compiled again for every batch).
    rows = await uow.session.execute(statement, list(firsts.values()))
    inserted = {str(row_id) for row_id in rows.scalars()}
    answers: list[str | None] = []
    for new in news:
        values = firsts.pop(new.delivery_id, None)  # a repeat within news finds it gone
        if values is None or values["id"] not in inserted:
            answers.append(None)
            continue
        answers.append(values["id"])
        received = WebhookDeliveryReceived(
            subject=values["id"], delivery_id=new.delivery_id, event=new.event, action=new.action
        )
        record_event(uow, received)
    return answers


async def delivery_row(
    uow: UnitOfWork, key: str, *, for_update: bool = False
) -> WebhookDeliveryRow:
    """The delivery by its id (``whd_…``) or by the forge's delivery id."""
    by_id = key.startswith(f"{ID_PREFIX}_")
    column = WebhookDeliveryRow.id if by_id else WebhookDeliveryRow.delivery_id
    query = select(WebhookDeliveryRow).where(column == key)
    if for_update:
        query = query.with_for_update()
    row = await uow.session.scalar(query)
    if row is None:
        raise NotFound(
            f"No webhook delivery {key!r}; 'orchestrate webhook list' shows them", delivery=key
        )
    return row


async def received_deliveries(uow: UnitOfWork, keys: Sequence[str]) -> list[WebhookDelivery]:
    """The deliveries of ``keys`` (row ids) still ``received``, oldest first."""
    rows = await uow.session.scalars(
        select(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.id.in_(list(keys)),
            WebhookDeliveryRow.status == DeliveryStatus.RECEIVED.value,
        )
        .order_by(WebhookDeliveryRow.received_at, WebhookDeliveryRow.id)
    )
    return [to_delivery(row) for row in rows]


async def rows_for_update(uow: UnitOfWork, keys: Sequence[str]) -> list[WebhookDeliveryRow]:
    """The delivery rows of ``keys`` (row ids), locked, oldest first."""
    if not keys:
        return []
    rows = await uow.session.scalars(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id.in_(list(keys)))
        .order_by(WebhookDeliveryRow.received_at, WebhookDeliveryRow.id)
        .with_for_update()
    )
    return list(rows)


async def delivery_page(
    uow: UnitOfWork,
    *,
    event: str | None,
    status: DeliveryStatus | None,
    limit: int,
    forge: str | None = None,
    cursor: str | None,
) -> list[WebhookDeliveryRow]:
    """Newest first by (received_at, id), strictly after ``cursor``, one row extra;
    without headers and body (listings need neither)."""
    query = (
        select(WebhookDeliveryRow)
        .order_by(WebhookDeliveryRow.received_at.desc(), WebhookDeliveryRow.id.desc())
        .limit(limit + 1)
        .options(defer(WebhookDeliveryRow.headers), defer(WebhookDeliveryRow.body))
    )
    if cursor:
        after = TimeCursor.decode(cursor)
        query = query.where(
            or_(
                WebhookDeliveryRow.received_at < after.created_at,
                and_(
                    WebhookDeliveryRow.received_at == after.created_at,
                    WebhookDeliveryRow.id < after.id,
                ),
            )
        )
    if event is not None:
        query = query.where(WebhookDeliveryRow.event == event)
    if status is not None:
        query = query.where(WebhookDeliveryRow.status == status.value)
    if forge is not None:
        query = query.where(WebhookDeliveryRow.forge == forge)
    return list(await uow.session.scalars(query))


# Retention (``retention.py``): deliveries done with, and the work they started

_DONE = (DeliveryStatus.PROCESSED.value, DeliveryStatus.FAILED.value)


def _done_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [WebhookDeliveryRow.status.in_(_DONE), WebhookDeliveryRow.received_at < cutoff]


async def done_delivery_ids(
    uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
) -> list[Key]:
    conditions = _done_before(cutoff)
    return await keys_where(uow, WebhookDeliveryRow.id, conditions, after=after, limit=limit)


async def started_work(uow: UnitOfWork, keys: Sequence[Key]) -> dict[Key, StartedWork]:
    """The runs and agents each delivery started, as recorded in its result."""
    rows = await uow.session.execute(
        select(WebhookDeliveryRow.id, WebhookDeliveryRow.result).where(
            WebhookDeliveryRow.id.in_(keys)
        )
    )
    return {key: StartedWork.of(result) for key, result in rows.all()}


async def delete_done_deliveries(uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> int:
    conditions = [WebhookDeliveryRow.id.in_(keys), *_done_before(cutoff)]
    return await delete_where(uow, WebhookDeliveryRow, conditions)


@dataclass(frozen=True)
class StartedWork:
    """Pipeline runs and agents named in a delivery's result."""

    run_ids: frozenset[str]
    agent_ids: frozenset[str]

    @classmethod
    def of(cls, result: Mapping[str, Any] | None) -> StartedWork:
        result = result or {}
        return cls(
            run_ids=frozenset(_named(result.get("runs"), "run_id")),
            agent_ids=frozenset(_named(result.get("automations"), "agent_id")),
        )


def _named(entries: object, field: str) -> list[str]:
    if not isinstance(entries, list):
        return []
    return [str(entry[field]) for entry in entries if isinstance(entry, dict) and entry.get(field)]
