"""HTTP routes for inspecting webhook deliveries and processing one again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.triggers import service
from orchestrate.triggers.schemas import (
    DeliveryOut,
    DeliverySummaryOut,
    ExplanationOut,
    RedeliveredOut,
)
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageOut

router = APIRouter(tags=["webhooks"])


@router.get("/webhooks/deliveries", response_model=PageOut[DeliverySummaryOut])
async def list_deliveries(
    uow: UowDep,
    _actor: ActorDep,
    event: str | None = None,
    forge: Annotated[str | None, Query(description="github or gitlab")] = None,
    delivery_status: Annotated[service.DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> PageOut[DeliverySummaryOut]:
    """Received deliveries, newest first, without headers and body."""
    page = await service.list_deliveries(
        uow, event=event, status=delivery_status, limit=limit, cursor=cursor, forge=forge
    )
    return PageOut(
        items=[DeliverySummaryOut.of(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/webhooks/deliveries/{delivery}", response_model=DeliveryOut)
async def get_delivery(delivery: str, uow: UowDep, _actor: ActorDep) -> DeliveryOut:
    """One delivery, by its id (`whd_…`) or GitHub's delivery id, with headers and payload."""
    return DeliveryOut.of(await service.get_delivery(uow, delivery))


@router.post(
    "/webhooks/deliveries/{delivery}/redeliver",
    response_model=RedeliveredOut,
    status_code=status.HTTP_202_ACCEPTED,
)
async def redeliver(delivery: str, uow: UowDep, actor: ActorDep) -> RedeliveredOut:
    """Process a processed or failed delivery again (409 while a job is still on it)."""
    return RedeliveredOut.of(await service.redeliver(uow, delivery, actor))


@router.get("/webhooks/deliveries/{delivery}/explain", response_model=ExplanationOut)
async def explain_delivery(
    delivery: str, uow: UowDep, runtime: RuntimeDep, _actor: ActorDep
) -> ExplanationOut:
    """Which pipelines the delivery matches now and why the others do not, and which
    built-in automations apply. Nothing is started."""
    explained = await service.explain_delivery(uow, runtime.settings, delivery)
    return ExplanationOut.of(
        explained.delivery, explained.pipelines, explained.matched, explained.automations
    )
