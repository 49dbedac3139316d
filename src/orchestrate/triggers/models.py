"""Webhook deliveries: their states, the one transition check, and the values services return.

Delivery states::

    received ──▶ processing ──▶ processed
      │ ▲            │  ▲ └────▶ failed ──┐
      │ │            └──┘ (a retry)       │ (a retried dead job)
      │ │                 ▲───────────────┘
      │ └──── processed | failed   (redeliver)
      └──────────────────────▶ processed   (in a batch, at the first attempt)

A batch of deliveries received together is processed in one transaction that takes
each straight from ``received`` to ``processed``; a delivery that fails there is
processed alone, through ``processing``. ``processing`` also covers the wait between
a failed attempt and its retry (the attempt's error is in ``last_error``); ``failed``
means the job queue gave up (the job is dead-lettered). Redelivering a delivery that
is still ``received`` or ``processing`` is refused: a job is already on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from orchestrate.core.errors import InvalidTransition, ValidationFailed


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


_ALLOWED: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.RECEIVED: frozenset({DeliveryStatus.PROCESSING, DeliveryStatus.PROCESSED}),
    DeliveryStatus.PROCESSING: frozenset(
        {DeliveryStatus.PROCESSING, DeliveryStatus.PROCESSED, DeliveryStatus.FAILED}
    ),
    DeliveryStatus.PROCESSED: frozenset({DeliveryStatus.RECEIVED}),
    DeliveryStatus.FAILED: frozenset({DeliveryStatus.RECEIVED, DeliveryStatus.PROCESSING}),
}


def check_delivery_transition(
    delivery_id: str, current: DeliveryStatus, target: DeliveryStatus
) -> None:
    if target not in _ALLOWED[current]:
        raise InvalidTransition(
            f"Webhook delivery {delivery_id} is {current.value}; it cannot become {target.value}",
            delivery=delivery_id,
            status=current.value,
        )


class ReceiveOutcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    PONG = "pong"


@dataclass(frozen=True)
class ReceiveResult:
    """What the receiver answers: a stored delivery, a known one, or a ping's zen."""

    outcome: ReceiveOutcome
    delivery_id: str
    id: str | None = None
    zen: str | None = None


@dataclass(frozen=True)
class DeliverySummary:
    """A stored delivery without its headers and body (what listings show)."""

    id: str
    delivery_id: str
    forge: str
    event: str
    action: str | None
    repository: str | None
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None
    result: dict[str, Any] | None


@dataclass(frozen=True)
class WebhookDelivery(DeliverySummary):
    """A stored delivery; ``body`` is the raw JSON text exactly as GitHub signed it."""

    headers: dict[str, str]
    body: str

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass(frozen=True)
class QueuedDelivery:
    """A delivery whose processing was (re)queued, with the id of the job that will do it."""

    delivery: WebhookDelivery
    job_id: str


class DeliveryTooLarge(ValidationFailed):
    """The body is over the receiver's limit (HTTP 413)."""

    title = "Webhook delivery too large"
