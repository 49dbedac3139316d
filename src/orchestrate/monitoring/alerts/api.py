"""HTTP routes of alerting: alerts, acknowledgement, silences and the rules."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, page_in_memory
from orchestrate.monitoring.alerts import service
from orchestrate.monitoring.alerts.models import AlertState, parse_duration
from orchestrate.monitoring.alerts.schemas import (
    AlertOut,
    AlertRuleOut,
    AlertRulesAppliedOut,
    AlertRulesIn,
    SilenceIn,
    SilenceOut,
)
from orchestrate.web.deps import ActorDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get("/alerts", response_model=PageOut[AlertOut])
async def list_alerts(
    uow: UowDep,
    _actor: ActorDep,
    state: AlertState | None = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[AlertOut]:
    """Alerts, newest first: pending, firing and those resolved within retention."""
    page = await service.list_alerts(uow, state=state, limit=limit, cursor=cursor)
    return PageOut(items=[AlertOut.of(a) for a in page.items], next_cursor=page.next_cursor)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
async def get_alert(alert_id: str, uow: UowDep, _actor: ActorDep) -> AlertOut:
    return AlertOut.of(await service.get_alert(uow, alert_id))


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
async def acknowledge(alert_id: str, uow: UowDep, actor: ActorDep) -> AlertOut:
    """Someone is on it: the group's next notification says so, repeats stop (operator)."""
    return AlertOut.of(await service.acknowledge(uow, alert_id, actor))


@router.get("/silences", response_model=PageOut[SilenceOut])
async def list_silences(
    uow: UowDep,
    _actor: ActorDep,
    include_expired: bool = Query(False, description="Also those that ended (kept 30 days)."),
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[SilenceOut]:
    """Silences by id (oldest first)."""
    now = uow.now()
    silences = await service.list_silences(uow, include_expired=include_expired)
    page = page_in_memory(silences, lambda s: s.id, limit, cursor)
    return PageOut(items=[SilenceOut.of(s, now) for s in page.items], next_cursor=page.next_cursor)


@router.post("/silences", response_model=SilenceOut, status_code=status.HTTP_201_CREATED)
async def create_silence(body: SilenceIn, uow: UowDep, actor: ActorDep) -> SilenceOut:
    """Hold back notifications of matching alerts for a while (operator)."""
    try:
        duration = parse_duration(body.duration)
    except ValueError as error:
        raise ValidationFailed(str(error), field="duration") from None
    silence = await service.create_silence(
        uow, body.matchers, duration, actor, comment=body.comment, starts_at=body.starts_at
    )
    return SilenceOut.of(silence, uow.now())


@router.delete(
    "/silences/{silence_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def expire_silence(silence_id: str, uow: UowDep, actor: ActorDep) -> Response:
    """End a silence now; 404 when there is none of that id."""
    await service.expire_silence(uow, silence_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/alert-rules", response_model=PageOut[AlertRuleOut])
async def list_rules(
    uow: UowDep, _actor: ActorDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[AlertRuleOut]:
    """The applied rules (the built-in ones included), by name."""
    config = await service.alert_config(uow)
    rules = [AlertRuleOut.of(source, rule) for source, rule in config.rules]
    page = page_in_memory(rules, lambda r: r.name, limit, cursor)
    return PageOut(items=page.items, next_cursor=page.next_cursor)


@router.post("/alert-rules", response_model=AlertRulesAppliedOut)
async def apply_rules(body: AlertRulesIn, uow: UowDep, actor: ActorDep) -> AlertRulesAppliedOut:
    """Apply an alerts file under a source name, replacing what that source had (operator).

    A file that does not validate is a 422 naming the problem and its place; nothing changes.
    """
    parsed = await service.apply_rules(uow, body.source, body.yaml, actor)
    return AlertRulesAppliedOut(
        source=body.source,
        rules=[rule.name for rule in parsed.rules],
        routes=len(parsed.routes),
        inhibit_rules=len(parsed.inhibit_rules),
    )


@router.delete("/alert-rules", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def remove_rules(
    uow: UowDep, actor: ActorDep, source: str = Query(min_length=1, max_length=500)
) -> Response:
    """Remove what a source applied; 404 when it applied nothing."""
    await service.remove_rules(uow, source, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
