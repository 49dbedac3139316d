"""Request and response models of the webhooks API (and of ``webhook … --json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from orchestrate.triggers.models import (
    DeliveryStatus,
    DeliverySummary,
    QueuedDelivery,
    ReceiveOutcome,
    ReceiveResult,
    WebhookDelivery,
)


class ReceivedOut(BaseModel):
    """The receiver's answer to a delivery it stored (or already had)."""

    delivery_id: str = Field(description="The X-GitHub-Delivery of the request.")
    status: ReceiveOutcome = Field(
        description="`accepted`: stored, processing queued; `duplicate`: already stored, "
        "not processed again."
    )
    id: str | None = Field(default=None, description="Id of the stored delivery (`whd_…`).")

    @classmethod
    def of(cls, result: ReceiveResult) -> ReceivedOut:
        return cls(delivery_id=result.delivery_id, status=result.outcome, id=result.id)


class PongOut(BaseModel):
    """The answer to GitHub's ``ping``: its zen, echoed."""

    zen: str | None


class _DeliveryFields(BaseModel):
    id: str
    delivery_id: str = Field(
        description="GitHub's X-GitHub-Delivery; GitLab's Idempotency-Key, else `gitlab:` and a "
        "hash of the event UUID, event and body; `replay-…` for replays."
    )
    forge: str = Field(description="The forge that sent it: github or gitlab.")
    event: str = Field(
        description="GitHub's X-GitHub-Event, or GitLab's event kind (merge_request, push…)."
    )
    action: str | None
    repository: str | None = Field(
        description="The repository's full name: owner/name, or GitLab's group/project."
    )
    status: DeliveryStatus
    attempts: int = Field(description="Processing attempts so far, over every (re)delivery.")
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None
    result: dict[str, Any] | None = Field(description="What processing did.")


class DeliverySummaryOut(_DeliveryFields):
    """A delivery in a listing: without its headers and body."""

    @classmethod
    def of(cls, delivery: DeliverySummary) -> DeliverySummaryOut:
        return cls(**_summary(delivery))


class DeliveryOut(_DeliveryFields):
    """A delivery with its headers and parsed body."""

    headers: dict[str, str] = Field(description="Request headers, without the signature.")
    payload: dict[str, Any] = Field(description="The body, parsed.")

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        payload = delivery.payload
        return cls(**_summary(delivery), headers=delivery.headers, payload=payload)


class RedeliveredOut(BaseModel):
    delivery: DeliveryOut
    job_id: str = Field(description="The job that will process it.")

    @classmethod
    def of(cls, queued: QueuedDelivery) -> RedeliveredOut:
        return cls(delivery=DeliveryOut.of(queued.delivery), job_id=queued.job_id)


class PipelineVerdictOut(BaseModel):
    pipeline: str
    matched: bool
    reasons: list[str] = Field(description="What matched, or every reason it did not.")


class ExplanationOut(BaseModel):
    """What processing the delivery would do now; nothing is started to find out."""

    delivery: DeliverySummaryOut
    pipelines: list[PipelineVerdictOut] = Field(description="Every registered pipeline.")
    matched: list[str] = Field(description="The pipelines a run would start of.")
    automations: list[dict[str, Any]] = Field(
        description="Built-in automations that apply: `automation`, `reason`, `repository`, "
        "and `skipped` when one cannot run (no local clone of the repository)."
    )

    @classmethod
    def of(
        cls,
        delivery: DeliverySummary,
        pipelines: list[dict[str, Any]],
        matched: list[str],
        automations: list[dict[str, Any]],
    ) -> ExplanationOut:
        return cls(
            delivery=DeliverySummaryOut.of(delivery),
            pipelines=[PipelineVerdictOut(**verdict) for verdict in pipelines],
            matched=matched,
            automations=automations,
        )


def _summary(delivery: DeliverySummary) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "delivery_id": delivery.delivery_id,
        "forge": delivery.forge,
        "event": delivery.event,
        "action": delivery.action,
        "repository": delivery.repository,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "received_at": delivery.received_at,
        "processed_at": delivery.processed_at,
        "result": delivery.result,
    }
