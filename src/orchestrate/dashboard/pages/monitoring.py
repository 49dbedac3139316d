"""Monitoring: the platform's health by component, cost, failure-rate and queue charts
(SVG drawn on the server), live alerts with acknowledgement, silences, budgets.

Reads ``monitoring.service`` (health, the summary ``GET /api/monitoring/metrics`` gives,
the alerts firing and pending and the silences) — a fixed handful of queries however
much data there is. Acknowledging, silencing and ending a silence go through the same
service functions as ``/api/alerts``, so they are authorised and audited the same way.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import Form, Path, Request
from starlette.responses import Response

from orchestrate.dashboard.actions import done
from orchestrate.dashboard.charts import Chart, bar_chart, dollars, line_chart
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.monitoring import service as monitoring
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE = "/ui/monitoring"
AlertId = Annotated[str, Path(max_length=100)]
SilenceId = Annotated[str, Path(max_length=100)]
Matchers = Annotated[str, Form(max_length=2000)]
Duration = Annotated[str, Form(max_length=50)]
Comment = Annotated[str, Form(max_length=2000)]


@router.get(PAGE)
async def monitoring_page(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    live = await monitoring.live_alerts(runtime)
    summary = await monitoring.metrics_summary(runtime, live)
    health = await monitoring.check_system_health(runtime)
    now = summary.generated_at
    return render(
        request,
        "monitoring/page.html",
        session,
        health=health,
        summary=summary,
        alerts=[*live.firing, *live.pending],
        silences=[s for s in live.silences if s.ends_at > now],
        now=now,
        charts=_charts(summary),
    )


def _charts(summary: monitoring.MetricsSummary) -> dict[str, Chart]:
    peak_cost = max((day.cost_usd for day in summary.cost_by_day), default=Decimal(0))
    cost = bar_chart(
        "Cost per day, last 14 days (UTC)",
        [
            (day.day.strftime("%d"), float(day.cost_usd), f"{day.day}: {dollars(day.cost_usd)}")
            for day in summary.cost_by_day
        ],
        top_label=dollars(peak_cost) if peak_cost else "$0",
        every_label=3,
    )
    failures = line_chart(
        "Failure rate per hour, last 24 hours (UTC)",
        [
            (
                "Pipeline runs",
                "series-a",
                [
                    (
                        f"{r.hour:%H}:00 pipeline runs: {r.failed} of {r.ended} failed",
                        r.failure_rate,
                    )
                    for r in summary.pipeline_runs
                ],
            ),
            (
                "Agent runs",
                "series-b",
                [(_rate_title(r, "agent"), r.failure_rate) for r in summary.agent_runs],
            ),
        ],
        top=1.0,
        top_label="100%",
    )
    peak_depth = max((q.depth for q in summary.queue), default=0)
    queue = bar_chart(
        "Jobs waiting by kind, now",
        [
            (q.kind, float(q.depth), f"{q.kind}: {q.depth} waiting, {q.running} running")
            for q in summary.queue
        ],
        top_label=str(peak_depth),
    )
    return {"cost": cost, "failures": failures, "queue": queue}


def _rate_title(rate: monitoring.HourRate, what: str) -> str:
    return f"{rate.hour:%H}:00 {what} runs: {rate.failed} of {rate.ended} failed"


@router.post("/ui/monitoring/alerts/{alert_id}/acknowledge")
async def acknowledge(
    request: Request, runtime: RuntimeDep, actor: WriterDep, alert_id: AlertId
) -> Response:
    alert = await monitoring.acknowledge_alert(runtime.uow(urgent=True), alert_id, actor)
    return done(
        request, PAGE, f"Acknowledged alert {alert.rule}: its notifications stop repeating."
    )


@router.post("/ui/monitoring/silences")
async def create_silence(
    request: Request,
    runtime: RuntimeDep,
    actor: WriterDep,
    matchers: Matchers = "",
    duration: Duration = "",
    comment: Comment = "",
) -> Response:
    wanted = [part.strip() for part in matchers.replace("\n", ",").split(",") if part.strip()]
    silence = await monitoring.silence_alerts(
        runtime.uow(urgent=True), wanted, duration, actor, comment=comment.strip()
    )
    length = silence.ends_at - silence.starts_at
    return done(
        request,
        PAGE,
        f"Silenced alerts matching {', '.join(str(m) for m in silence.matchers)} "
        f"for {_shown(length)}.",
    )


@router.post("/ui/monitoring/silences/{silence_id}/end")
async def end_silence(
    request: Request, runtime: RuntimeDep, actor: WriterDep, silence_id: SilenceId
) -> Response:
    await monitoring.end_silence(runtime.uow(urgent=True), silence_id, actor)
    return done(request, PAGE, "Ended the silence: its alerts notify again.")


def _shown(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
