"""Use cases of operating Orchestrate: health, queue statistics, and steering jobs."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrate import __version__
from orchestrate.auth import service as auth
from orchestrate.core import jobs
from orchestrate.core.jobs import JobInfo, JobStatus, QueueStats
from orchestrate.core.pagination import Page
from orchestrate.core.sandbox import SandboxPolicy, sandbox_warning
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring import _store as store


@dataclass(frozen=True)
class Health:
    status: str
    version: str
    database: str
    database_reachable: bool
    database_error: str | None = None
    sandbox: str = "bubblewrap"
    warnings: tuple[str, ...] = ()


async def check_health(uow: UnitOfWork, settings: Settings) -> Health:
    """Whether this process can reach its database; never raises.

    An unconfined sandbox is reported as a warning: the server works, but agents and
    steps run with the server's own rights.
    """
    dialect = uow.database.dialect
    policy = SandboxPolicy.from_settings(settings)
    warning = sandbox_warning(policy)
    warnings = (warning,) if warning else ()
    sandbox = policy.mode.value
    try:
        async with uow:
            await store.ping(uow)
    except Exception as error:
        error_name = type(error).__name__
        return Health("degraded", __version__, dialect, False, error_name, sandbox, warnings)
    return Health("ok", __version__, dialect, True, None, sandbox, warnings)


async def queue_statistics(uow: UnitOfWork) -> QueueStats:
    async with uow:
        return await jobs.queue_stats(uow)


async def busy_workers(uow: UnitOfWork) -> dict[str, int]:
    """Workers running jobs now (by lease), and how many each runs."""
    async with uow:
        return await jobs.busy_workers(uow)


async def list_jobs(
    uow: UnitOfWork,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[JobInfo]:
    async with uow:
        return await jobs.list_jobs(uow, status=status, kind=kind, limit=limit, cursor=cursor)


async def get_job(uow: UnitOfWork, job_id: str) -> JobInfo:
    async with uow:
        return await jobs.get_job(uow, job_id)


async def retry_job(uow: UnitOfWork, job_id: str, actor: auth.Actor) -> JobInfo:
    """Give a dead-lettered (or cancelled) job a fresh set of attempts."""
    auth.authorize(actor, auth.Permission.WRITE)
    async with uow:
        info = await jobs.retry_job(uow, job_id)
        await auth.record_audit(uow, actor, "job.retry", job_id, {"kind": info.kind})
        await uow.commit()
        return info


async def cancel_job(uow: UnitOfWork, job_id: str, actor: auth.Actor) -> JobInfo:
    """Cancel a job that has not started yet."""
    auth.authorize(actor, auth.Permission.WRITE)
    async with uow:
        info = await jobs.cancel_job(uow, job_id)
        await auth.record_audit(uow, actor, "job.cancel", job_id, {"kind": info.kind})
        await uow.commit()
        return info
