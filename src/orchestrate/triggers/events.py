"""The events of inbound webhook deliveries, with the delivery's id (``whd_…``) as subject."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from orchestrate.core.events import DomainEvent
from orchestrate.triggers.models import DeliveryStatus


class WebhookDeliveryReceived(DomainEvent):
    """A delivery was stored (``event``, ``action`` set), or was put back to be processed
    again (``from`` set)."""

    event_type: ClassVar[str] = "webhook.delivery.received"
    delivery_id: str
    event: str | None = None
    action: str | None = None
    from_: str | None = Field(default=None, alias="from")


class WebhookDeliveryStatusChanged(DomainEvent):
    delivery_id: str
    from_: str = Field(alias="from")
    error: str | None = None
    event: str | None = None
    """The forge's event name (``push``, ``pull_request``…), as stored with the delivery."""


class WebhookDeliveryProcessingStarted(WebhookDeliveryStatusChanged):
    event_type: ClassVar[str] = "webhook.delivery.processing"


class WebhookDeliveryProcessed(WebhookDeliveryStatusChanged):
    event_type: ClassVar[str] = "webhook.delivery.processed"


class WebhookDeliveryFailed(WebhookDeliveryStatusChanged):
    event_type: ClassVar[str] = "webhook.delivery.failed"


STATUS_EVENTS: dict[DeliveryStatus, type[WebhookDeliveryStatusChanged]] = {
    DeliveryStatus.PROCESSING: WebhookDeliveryProcessingStarted,
    DeliveryStatus.PROCESSED: WebhookDeliveryProcessed,
    DeliveryStatus.FAILED: WebhookDeliveryFailed,
}
"""The event a delivery entering each status writes (``received``: see above)."""
