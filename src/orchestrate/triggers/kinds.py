"""The job kinds of webhook processing and their payloads."""

from __future__ import annotations

from orchestrate.core.jobs import JobKind, JobPayload


class DeliveryBatch(JobPayload):
    """The deliveries (row ids) the receiver stored in one transaction."""

    deliveries: tuple[str, ...]


class DeliveryRef(JobPayload):
    """One delivery (a row id)."""

    delivery: str


PROCESS_DELIVERIES = JobKind("triggers.process_deliveries", DeliveryBatch)
"""Route and start the work of a received batch (``processing.py``)."""

PROCESS_DELIVERY = JobKind("triggers.process_delivery", DeliveryRef)
"""Route one delivery, with attempts, backoff and dead letters of its own."""
