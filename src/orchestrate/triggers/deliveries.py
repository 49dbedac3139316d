"""Webhook deliveries as values: what is stored of a new one, rows read back, and the
one status change; private to the triggers capability.

Every status change goes through ``set_status``, which checks the transition and
appends an event to the caller's unit of work. The SQL is ``_store.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrate.core.events import DomainEvent, record_event
from orchestrate.core.pagination import TimeCursor
from orchestrate.core.uow import UnitOfWork
from orchestrate.forges import service as forges
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


@dataclass(frozen=True)
class NewDelivery:
    """A verified delivery, parsed enough to index it."""

    delivery_id: str
    event: str
    action: str | None
    repository: str | None
    headers: dict[str, str]
    body: str
    forge: str = forges.GITHUB


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


def to_summary(row: WebhookDeliveryRow) -> DeliverySummary:
    return DeliverySummary(**_summary_fields(row))


def to_delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        **_summary_fields(row),
        headers=forges.storable_headers(
            row.forge, {str(key): str(value) for key, value in row.headers.items()}
        ),
        body=row.body,
    )


def _summary_fields(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "delivery_id": row.delivery_id,
        "forge": row.forge,
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
        event=row.event,
    )


def forge_event(delivery: WebhookDelivery) -> forges.ForgeEvent:
    """The forge-neutral event a stored delivery reports, for routing and automations."""
    return forges.event_from_delivery(
        delivery.forge, delivery.event, delivery.payload, delivery_id=delivery.delivery_id
    )
