"""Reading and writing webhook deliveries; private to the triggers capability.

Callers pass an entered unit of work and commit it themselves. Every status change
goes through ``set_status``, which checks the transition and appends an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import defer

from orchestrate.core.errors import NotFound
from orchestrate.core.events import DomainEvent, record_event
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import TimeCursor
from orchestrate.core.uow import UnitOfWork
from orchestrate.triggers.events import STATUS_EVENTS, WebhookDeliveryReceived
from orchestrate.triggers.models import (
    DeliveryStatus,
    DeliverySummary,
    WebhookDelivery,
    check_delivery_transition,
)
from orchestrate.triggers.tables import WebhookDeliveryRow

ID_PREFIX = "whd"
MAX_ERROR_LENGTH = 8_000

# Only headers GitHub sets and a reader of a delivery needs are kept. A denylist missed
# Proxy-Authorization, which a proxy in front of the server added and viewers then saw;
# an allowlist cannot miss the next one. The signature is left out too (ours to check,
# not to keep).
_KEPT_HEADERS = frozenset({"user-agent", "content-type", "content-length", "accept"})
_KEPT_HEADER_PREFIX = "x-github-"


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a delivery worth storing and showing: GitHub's, no credentials.

    Also applied when a stored delivery is read, so rows stored before the allowlist
    never show what it now drops.
    """
    return {
        name: value
        for name, value in headers.items()
        if name.lower() in _KEPT_HEADERS or name.lower().startswith(_KEPT_HEADER_PREFIX)
    }


_deliveries: Table = WebhookDeliveryRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class NewDelivery:
    """A verified delivery, parsed enough to index it."""

    delivery_id: str
    event: str
    action: str | None
    repository: str | None
    headers: dict[str, str]
    body: str


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
    """The delivery by its id (``whd_…``) or by GitHub's delivery id."""
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


def page_query(
    *, event: str | None, status: DeliveryStatus | None, limit: int, cursor: str | None
) -> Select[WebhookDeliveryRow]:
    """Newest first by (received_at, id), strictly after ``cursor``, one row extra."""
    query = (
        select(WebhookDeliveryRow)
        .order_by(WebhookDeliveryRow.received_at.desc(), WebhookDeliveryRow.id.desc())
        .limit(limit + 1)
        .options(*summary_columns())
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
    return query


def next_cursor(rows: list[WebhookDeliveryRow], limit: int) -> str | None:
    if len(rows) <= limit or limit == 0:
        return None
    last = rows[limit - 1]
    return TimeCursor(last.received_at, last.id).encode()


def set_status(
    uow: UnitOfWork,
    row: WebhookDeliveryRow,
    target: DeliveryStatus,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    """The one place a delivery changes status; it also writes the event."""
    current = DeliveryStatus(row.status)
    check_delivery_transition(row.id, current, target)
    now = uow.now()
    row.status = target.value
    if target is DeliveryStatus.RECEIVED:
        row.processed_at = None
    if target is DeliveryStatus.PROCESSED:
        row.processed_at = now
        row.last_error = None
        row.result = result
    if error is not None:
        row.last_error = error[:MAX_ERROR_LENGTH]
    if target is not current:
        record_event(uow, _status_event(row, current, target, error))


def summary_columns() -> list[Any]:
    """Load options that leave out the headers and body (listings need neither)."""
    return [defer(WebhookDeliveryRow.headers), defer(WebhookDeliveryRow.body)]


def to_summary(row: WebhookDeliveryRow) -> DeliverySummary:
    return DeliverySummary(**_summary_fields(row))


def to_delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        **_summary_fields(row),
        headers=storable_headers({str(key): str(value) for key, value in row.headers.items()}),
        body=row.body,
    )


def _summary_fields(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "delivery_id": row.delivery_id,
        "event": row.event,
        "action": row.action,
        "repository": row.repository,
        "status": DeliveryStatus(row.status),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "received_at": row.received_at,
        "processed_at": row.processed_at,
        "result": row.result,
    }


def _status_event(
    row: WebhookDeliveryRow, current: DeliveryStatus, target: DeliveryStatus, error: str | None
) -> DomainEvent:
    if target is DeliveryStatus.RECEIVED:  # put back to be processed again
        return WebhookDeliveryReceived(
            subject=row.id, delivery_id=row.delivery_id, from_=current.value
        )
    return STATUS_EVENTS[target](
        subject=row.id,
        delivery_id=row.delivery_id,
        from_=current.value,
        error=error[:500] if error else None,
    )
