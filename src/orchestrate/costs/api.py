"""HTTP routes of the cost report (any token) and the budgets (changed by admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from orchestrate.core.durations import parse_since
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, page_in_memory
from orchestrate.costs import service
from orchestrate.costs.schemas import BudgetIn, BudgetOut, CostReportOut
from orchestrate.web.deps import ActorDep, AdminDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get("/costs", response_model=CostReportOut)
async def cost_report(
    uow: UowDep,
    _actor: ActorDep,
    by: service.CostGrouping = service.CostGrouping.DAY,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only calls since: a date (midnight UTC), a date and time (UTC "
            "unless it has an offset) or a period back from now (30d, 12h, 2w). "
            "Default: the whole ledger.",
            examples=["2026-12-01", "30d"],
        ),
    ] = None,
) -> CostReportOut:
    """Model calls, tokens and dollars by day, agent type, model, story or pipeline.

    Every model call of every agent is one entry of the ledger; a ``since`` that is no
    date, time or period is a 422."""
    report = await service.cost_report(uow, by, parse_since(since, uow.now()))
    return CostReportOut.of(report)


@router.get("/budgets", response_model=PageOut[BudgetOut])
async def list_budgets(
    uow: UowDep, _actor: ActorDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[BudgetOut]:
    """Budgets with what their current period has spent and their status, by id."""
    now = uow.now()
    page = page_in_memory(await service.list_budgets(uow), lambda b: b.id, limit, cursor)
    return PageOut(items=[BudgetOut.of(b, now) for b in page.items], next_cursor=page.next_cursor)


@router.post(
    "/budgets",
    response_model=BudgetOut,
    responses={201: {"model": BudgetOut, "description": "The budget was created."}},
)
async def set_budget(body: BudgetIn, uow: UowDep, admin: AdminDep, response: Response) -> BudgetOut:
    """Create the budget of a scope and period (201), or change its limit and warning (200)."""
    written = await service.set_budget(uow, body.spec(), admin)
    if written.is_new:
        response.status_code = status.HTTP_201_CREATED
    return BudgetOut.of(written.budget, uow.now())


@router.delete(
    "/budgets/{budget_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_budget(budget_id: str, uow: UowDep, admin: AdminDep) -> Response:
    """Delete a budget; 404 when there is none of that id."""
    await service.delete_budget(uow, budget_id, admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
