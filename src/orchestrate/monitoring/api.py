"""HTTP routes of monitoring: liveness and Prometheus metrics (public); jobs, the
platform's health by component and the dashboard's summary (authenticated)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import JSONResponse, Response

from orchestrate.core.jobs import JobStatus
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring import service
from orchestrate.monitoring.metrics import HttpMetricsMiddleware
from orchestrate.monitoring.schemas import HealthOut, JobOut, MetricsSummaryOut, SystemHealthOut
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageOut

log = structlog.get_logger(__name__)

public_router = APIRouter(tags=["monitoring"])
router = APIRouter(tags=["jobs"])


def install(app: FastAPI, runtime: Runtime) -> None:
    """Count and time every request the app serves (the composition root calls this)."""
    del runtime  # the metrics are process-wide
    app.add_middleware(HttpMetricsMiddleware)


@public_router.get("/api/health", response_model=HealthOut)
async def health(runtime: RuntimeDep) -> JSONResponse:
    """Liveness and database reachability; needs no token. 503 when the database is down."""
    result = await service.check_health(runtime.uow(read_only=True), runtime.settings)
    body = HealthOut.of(result).model_dump()
    return JSONResponse(body, status_code=200 if result.database_reachable else 503)


@public_router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus text format: this process's HTTP traffic and jobs, and the database's
    pipeline, agent, webhook, schedule and queue series (docs/monitoring.md)."""
    body, content_type = await service.scrape(runtime)
    return Response(body, media_type=content_type)


@router.get(
    "/monitoring/health",
    response_model=SystemHealthOut,
    tags=["monitoring"],
    responses={503: {"model": SystemHealthOut, "description": "The database is down."}},
)
async def system_health(runtime: RuntimeDep, _actor: ActorDep) -> JSONResponse:
    """Database, workers (with their last heartbeat), queue and scheduler, each with a
    status, and the whole: ok, degraded or down. 503 only when the database is down."""
    result = await service.check_system_health(runtime)
    body = SystemHealthOut.of(result).model_dump(mode="json")
    return JSONResponse(body, status_code=503 if result.status is service.Status.DOWN else 200)


@router.get("/monitoring/metrics", response_model=MetricsSummaryOut, tags=["monitoring"])
async def metrics_summary(runtime: RuntimeDep, _actor: ActorDep) -> MetricsSummaryOut:
    """The dashboard's summary: cost today, this month and by day (14 days), pipeline and
    agent run failure rates by hour (24 hours), the queue by kind, alerts firing and
    pending, active silences, and budgets with their status."""
    return MetricsSummaryOut.of(await service.metrics_summary(runtime))


@router.get("/jobs", response_model=PageOut[JobOut])
async def list_jobs(
    uow: UowDep,
    _actor: ActorDep,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> PageOut[JobOut]:
    """Background jobs, newest first."""
    page = await service.list_jobs(uow, status=status, kind=kind, limit=limit, cursor=cursor)
    return PageOut(items=[JobOut.of(j) for j in page.items], next_cursor=page.next_cursor)


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: str, uow: UowDep, _actor: ActorDep) -> JobOut:
    """One job: its kind, status, attempts, last error and result."""
    return JobOut.of(await service.get_job(uow, job_id))


@router.post("/jobs/{job_id}/retry", response_model=JobOut)
async def retry_job(job_id: str, uow: UowDep, actor: ActorDep) -> JobOut:
    """Re-queue a dead or cancelled job with a fresh set of attempts."""
    return JobOut.of(await service.retry_job(uow, job_id, actor))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
async def cancel_job(job_id: str, uow: UowDep, actor: ActorDep) -> JobOut:
    """Cancel a job that has not started yet."""
    return JobOut.of(await service.cancel_job(uow, job_id, actor))
