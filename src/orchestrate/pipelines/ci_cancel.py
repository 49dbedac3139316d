"""Cancelling the platform's run of a ``ci:`` step nobody waits for any more.

A ``ci:`` step stops waiting early when it is cancelled (alone, with its run, or by the
run's timeout) or when its own ``timeout`` passes. The workflow it started would
otherwise go on holding the platform's runners for nothing: like GitHub's own
``timeout-minutes``, the step cancels what it gave up on. The cancel leaves the
database, so it is a ``pipelines.ci_cancel`` job enqueued in the transaction that ended
the step, once per step row and attempt; a trigger that returns after its step ended
asks for the same job (see ``ci_steps``).

The job's failures touch nothing else: the step has already ended. A run the platform
no longer has needs no cancel; any other error is logged and retried by the job queue,
then dead-lettered with its last error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import structlog

from orchestrate.auth.service import Actor, Role
from orchestrate.ci import service as ci
from orchestrate.core.errors import OrchestrateError
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobContext, JobFailed, enqueue
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import kinds
from orchestrate.pipelines.events import StepCiCancelRequested
from orchestrate.pipelines.kinds import CiCancel
from orchestrate.pipelines.tables import PipelineStepRow

log = structlog.get_logger(__name__)


def cancel_order(
    row: PipelineStepRow, process: Mapping[str, Any], *, starter: str, reason: str
) -> CiCancel | None:
    """The cancel of the run ``process`` (the row's, read before it ended) recorded for
    the row's current attempt; None when the step had not recorded a run yet."""
    ci_run = process.get("ci_run")
    provider = process.get("ci_provider")
    repository = process.get("ci_repository")
    if not (isinstance(ci_run, str) and isinstance(provider, str) and isinstance(repository, str)):
        return None
    return CiCancel(
        step=row.id,
        step_key=row.key,
        run=row.run_id,
        attempt=row.attempts,
        provider=provider,
        repository=repository,
        ci_run=ci_run,
        starter=starter,
        reason=reason,
    )


async def request_cancel(uow: UnitOfWork, order: CiCancel) -> None:
    """Enqueue the platform cancel in the caller's transaction; asking twice for one
    attempt (the step's cancel and its trigger returning late) is a no-op."""
    await enqueue(uow, kinds.CI_CANCEL, order, key=kinds.ci_cancel_key(order.step, order.attempt))


async def cancel_ci_run(job: JobContext[CiCancel]) -> None:
    """Cancel the run on its platform and record what the platform then showed."""
    order = job.payload
    target = ci.CiTarget(ci.ProviderName(order.provider), order.repository)
    try:
        run = await ci.cancel(
            job.runtime.uow(), job.runtime.settings, target, order.ci_run, _starter(order)
        )
    except ci.CiNotFound as error:
        _log_failure(order, error, "pipeline_ci_cancel_not_found")
        await _complete(job, {"not_found": True})
        return
    except ci.RateLimited as error:
        _log_failure(order, error, "pipeline_ci_cancel_failed")
        wait = timedelta(seconds=error.retry_after or 0)
        raise JobFailed(f"CI run {order.ci_run}: {error}", retry_after=wait) from None
    except OrchestrateError as error:
        _log_failure(order, error, "pipeline_ci_cancel_failed")
        raise JobFailed(f"CI run {order.ci_run}: {error}") from None
    await _record(job, run)


async def _record(job: JobContext[CiCancel], run: ci.CiRun) -> None:
    """The event naming the run and how it stood, with the job's completion."""
    order = job.payload
    conclusion = run.conclusion.value if run.conclusion else None
    async with job.uow() as uow:
        record_event(
            uow,
            StepCiCancelRequested(
                subject=order.run,
                step=order.step_key,
                attempt=order.attempt,
                provider=order.provider,
                repository=order.repository,
                ci_run_id=order.ci_run,
                reason=order.reason,
                status=run.status.value,
                conclusion=conclusion,
            ),
        )
        await job.complete_in(uow, {"status": run.status.value, "conclusion": conclusion})
        await uow.commit()
    log.info(
        "pipeline_ci_cancel_requested",
        run_id=order.run,
        step=order.step_key,
        ci_run=order.ci_run,
        status=run.status.value,
        conclusion=conclusion,
    )


def _starter(order: CiCancel) -> Actor:
    """The run's starter as an operator, as the trigger was: the cancel is audited so."""
    return Actor(name=order.starter, role=Role.OPERATOR, source=f"pipeline run {order.run}")


def _log_failure(order: CiCancel, error: Exception, event: str) -> None:
    log.warning(
        event,
        run_id=order.run,
        step=order.step_key,
        provider=order.provider,
        ci_run=order.ci_run,
        error=str(error)[:500],
    )


async def _complete(job: JobContext[CiCancel], result: dict[str, Any]) -> None:
    async with job.uow() as uow:
        await job.complete_in(uow, result)
        await uow.commit()
