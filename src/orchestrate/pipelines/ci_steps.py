"""``ci:`` steps: trigger a workflow on a CI platform and wait for its conclusion.

The step's job triggers the run and ends; a ``pipelines.ci_poll`` job then reads the
run's state every ``poll`` interval until it is completed, so a two-hour workflow holds
no worker slot, and a worker dying between polls loses nothing (the next poll is a
queued job). The attempt succeeds when the run concludes ``success`` or ``neutral``.

**Once per attempt.** A platform's trigger cannot join our transaction, so the step
writes *when* it is about to trigger before doing it, and the run it started right
after. A worker that dies in between leaves the first mark only: the job's next try
looks for a run of that workflow and ref created since, and adopts it instead of
triggering a second one; it triggers again only when there is none. When the attempt
ended while the platform was starting the run (the step was cancelled meanwhile),
nobody will wait for that run: it is cancelled (``ci_cancel``).

Provider trouble while waiting (rate limits, a 5xx, the network) is waited out: up to
``MAX_POLL_ERRORS`` polls in a row may fail before the step does. So is trouble while
triggering or looking for the run just triggered: the step's job tries again (after the
platform's ``Retry-After``), up to ``MAX_POLL_ERRORS`` tries, adopting a run that did
start rather than dispatching a second. A run that has not
finished by the step's ``timeout`` (default ``DEFAULT_TIMEOUT``) fails the step and is
cancelled on its platform, as GitHub's ``timeout-minutes`` cancels a job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from orchestrate.auth.service import Actor, Role
from orchestrate.ci import service as ci
from orchestrate.core.clock import ensure_utc
from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobContext, JobFailed, enqueue
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import kinds
from orchestrate.pipelines._store import LoadedRun, load_run
from orchestrate.pipelines.attempt import Attempt
from orchestrate.pipelines.ci_cancel import cancel_order, request_cancel
from orchestrate.pipelines.contexts import render
from orchestrate.pipelines.engine import Outcome, finish_attempt
from orchestrate.pipelines.events import StepCiStarted
from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.kinds import AttemptRef, CiCancel, CiPoll
from orchestrate.pipelines.models import StepStatus
from orchestrate.pipelines.tables import PipelineStepRow

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = timedelta(hours=6)
"""GitHub's own limit for a job: a ``ci:`` step without ``timeout`` waits this long."""
MAX_POLL_ERRORS = 10
ADOPT_SLACK = timedelta(seconds=30)
"""A run created this long before the trigger mark still counts as ours (clock skew)."""
_PASSING = frozenset({"success", "neutral"})


async def start_ci_step(job: JobContext[AttemptRef], attempt: Attempt) -> Outcome | None:
    """Trigger the workflow (or adopt the run an earlier try started), then hand the
    waiting to the poll job. Returns an outcome only when the step ends at once."""
    step = attempt.step
    assert step.ci is not None
    settings = job.runtime.settings
    values = _rendered(attempt)
    target = ci.resolve_target(settings, values["provider"], values["repository"])
    request = ci.Trigger(workflow=values["workflow"], ref=values["ref"], inputs=values["inputs"])
    process = await _process_of(job, attempt)
    if process is None:
        return None  # the attempt is no longer this job's
    try:
        run = await _trigger_or_adopt(job, attempt, target, request, process)
    except (ci.CiNotFound, ci.CiAuthenticationFailed):
        raise  # the step fails with the platform's answer
    except ci.CiProviderError as error:  # rate limits, 5xx, the network
        if job.job.attempt >= MAX_POLL_ERRORS:
            raise
        # The job's next try adopts the run if the dispatch got through (its mark is
        # written): waited out like trouble while polling, never a second dispatch.
        wait = getattr(error, "retry_after", None)
        raise JobFailed(
            f"CI provider trouble while triggering (try {job.job.attempt}): {error}",
            retry_after=timedelta(seconds=wait) if wait else None,
        ) from None
    if run is None:
        return None  # the attempt is no longer this job's
    async with job.uow() as uow:
        loaded = await load_run(uow, attempt.run_id)
        row = _current(loaded, attempt)
        if row is None:
            await request_cancel(uow, _orphan(attempt, target, run))
        else:
            _record_run(uow, row, target, run)
            await _enqueue_poll(uow, row, attempt.number, 1, 0, step.ci.poll)
        await job.complete_in(uow, {"ci_run": run.id, "waited_for": row is not None})
        await uow.commit()
    log.info(
        "pipeline_ci_step_started" if row else "pipeline_ci_step_ended_while_triggering",
        run_id=attempt.run_id,
        step=attempt.key,
        ci_run=run.id,
    )
    return None


def _record_run(uow: UnitOfWork, row: PipelineStepRow, target: ci.CiTarget, run: ci.CiRun) -> None:
    """Name the run on the row (what the poll job reads, and a cancel finds) and in an event."""
    row.process = {
        **(row.process or {}),
        "ci_provider": target.provider.value,
        "ci_repository": target.repository,
        "ci_run": run.id,
        "ci_url": run.url or "",
        "ci_started_at": uow.now().isoformat(),
    }
    started = StepCiStarted(
        subject=row.run_id,
        step=row.key,
        provider=target.provider.value,
        repository=target.repository,
        ci_run_id=run.id,
        url=run.url or "",
    )
    record_event(uow, started)


def _orphan(attempt: Attempt, target: ci.CiTarget, run: ci.CiRun) -> CiCancel:
    """The cancel of a run its attempt ended before it could record (see the module)."""
    return CiCancel(
        step=attempt.step_row_id,
        step_key=attempt.key,
        run=attempt.run_id,
        attempt=attempt.number,
        provider=target.provider.value,
        repository=target.repository,
        ci_run=run.id,
        starter=attempt.created_by,
        reason="the step ended while the platform was starting its run",
    )


async def poll_ci_step(job: JobContext[CiPoll]) -> None:
    """Read the run's state once: end the attempt when it is completed (or the step's
    time is up), else queue the next poll."""
    ref = job.payload
    async with job.runtime.uow(read_only=True) as reader:
        loaded = await load_run(reader, ref.run)
        row = loaded.row_by_id(ref.step)
        waiting = row is not None and _is_waiting(row, ref.attempt)
    if row is None or not waiting or row.process is None:
        await _complete(job, {"stale": True})
        return
    step = loaded.spec.step(row.step_id)
    assert step.ci is not None
    process = row.process
    target = ci.CiTarget(ci.ProviderName(process["ci_provider"]), process["ci_repository"])
    outcome: Outcome | None = None
    errors = ref.errors
    try:
        run = await ci.get_run(job.runtime.uow(), job.runtime.settings, target, process["ci_run"])
    except (ci.CiNotFound, ci.CiAuthenticationFailed) as error:
        outcome = Outcome(StepStatus.FAILURE, _outputs(process), f"CI run: {error}")
    except ci.CiProviderError as error:  # rate limits, 5xx, the network: wait them out
        errors += 1
        if errors >= MAX_POLL_ERRORS:
            outcome = Outcome(
                StepStatus.FAILURE,
                _outputs(process),
                f"CI run {process['ci_run']}: {errors} reads in a row failed, the last: {error}",
            )
    except OrchestrateError as error:
        outcome = Outcome(StepStatus.FAILURE, _outputs(process), f"CI run: {error}")
    else:
        errors = 0
        outcome = _outcome_of(run, process)
    timed_out = outcome is None and _time_is_up(job, step.timeout, process)
    if timed_out:
        outcome = _timeout_outcome(step.timeout, process)
    async with job.uow() as uow:
        loaded = await load_run(uow, ref.run)
        current = loaded.row_by_id(ref.step)
        if current is not None and _is_waiting(current, ref.attempt):
            if outcome is not None:
                if timed_out:
                    await _cancel_on_platform(uow, loaded, current, process)
                await finish_attempt(uow, loaded, current, outcome)
            else:
                await _enqueue_poll(uow, current, ref.attempt, ref.poll + 1, errors, step.ci.poll)
        await job.complete_in(uow)
        await uow.commit()


def _time_is_up(
    job: JobContext[CiPoll], timeout: timedelta | None, process: dict[str, Any]
) -> bool:
    started = ensure_utc(datetime.fromisoformat(process["ci_started_at"]))
    return job.runtime.clock.now() - started >= (timeout or DEFAULT_TIMEOUT)


def _timeout_outcome(timeout: timedelta | None, process: dict[str, Any]) -> Outcome:
    limit = timeout or DEFAULT_TIMEOUT
    where = process.get("ci_url") or "see the platform"
    return Outcome(
        StepStatus.FAILURE,
        _outputs(process),
        f"CI run {process['ci_run']} did not finish within {limit}; "
        f"it is being cancelled on the platform: {where}",
    )


async def _cancel_on_platform(
    uow: UnitOfWork, loaded: LoadedRun, row: PipelineStepRow, process: dict[str, Any]
) -> None:
    """Ask for the cancel of the run the step gave up on, for the attempt that started
    it (read before the attempt ends: a retry moves the row on)."""
    order = cancel_order(
        row, process, starter=loaded.run.created_by, reason="the step's timeout passed"
    )
    if order is not None:
        await request_cancel(uow, order)


async def _trigger_or_adopt(
    job: JobContext[AttemptRef],
    attempt: Attempt,
    target: ci.CiTarget,
    request: ci.Trigger,
    process: dict[str, Any],
) -> ci.CiRun | None:
    """The run an earlier try of this job started, or a new one (None: not ours any more)."""
    marked = process.get("ci_trigger_at")
    if isinstance(marked, str):
        run = await _run_started_since(job, target, request, datetime.fromisoformat(marked))
        if run is not None:
            return run
    if not await _mark_triggering(job, attempt):
        return None
    settings = job.runtime.settings
    return await ci.trigger(job.runtime.uow(), settings, target, request, _starter(attempt))


def _outcome_of(run: ci.CiRun, process: dict[str, Any]) -> Outcome | None:
    if not run.is_completed:
        return None
    conclusion = run.conclusion.value if run.conclusion else "unknown"
    outputs = {
        **_outputs(process),
        "conclusion": conclusion,
        "attempt": str(run.attempt),
        "head_sha": run.head_sha or "",
        "url": run.url or process.get("ci_url", ""),
    }
    if conclusion in _PASSING:
        return Outcome(StepStatus.SUCCESS, outputs)
    where = f" ({run.url})" if run.url else ""
    return Outcome(StepStatus.FAILURE, outputs, f"CI run {run.id}{where} ended {conclusion}")


def _outputs(process: dict[str, Any]) -> dict[str, str]:
    return {
        "provider": str(process.get("ci_provider", "")),
        "repository": str(process.get("ci_repository", "")),
        "run_id": str(process.get("ci_run", "")),
        "url": str(process.get("ci_url", "")),
    }


def _rendered(attempt: Attempt) -> dict[str, Any]:
    step = attempt.step
    assert step.ci is not None
    spec = step.ci
    raw = {
        "workflow": spec.workflow,
        "ref": spec.ref,
        "provider": spec.provider,
        "repository": spec.repository,
        "inputs": dict(spec.inputs),
    }
    try:
        values = render(raw, attempt.context)
    except ExpressionError as error:
        raise ValidationFailed(f"ci: {error}") from None
    ref = str(values["ref"] or "").strip()
    if not ref:
        raise ValidationFailed("ci: 'ref' is empty once its expressions are evaluated")
    inputs = {str(key): _text(value) for key, value in (values["inputs"] or {}).items()}
    return {
        "workflow": str(values["workflow"] or ""),
        "ref": ref,
        "provider": _optional(values["provider"]),
        "repository": _optional(values["repository"]),
        "inputs": inputs,
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _optional(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


async def _process_of(job: JobContext[AttemptRef], attempt: Attempt) -> dict[str, Any] | None:
    async with job.runtime.uow(read_only=True) as uow:
        loaded = await load_run(uow, attempt.run_id)
        row = _current(loaded, attempt)
        return None if row is None else dict(row.process or {})


async def _mark_triggering(job: JobContext[AttemptRef], attempt: Attempt) -> bool:
    """Write when the trigger is about to happen (what a later try adopts from)."""
    async with job.uow() as uow:
        loaded = await load_run(uow, attempt.run_id)
        row = _current(loaded, attempt)
        if row is None:
            return False
        row.process = {**(row.process or {}), "ci_trigger_at": uow.now().isoformat()}
        await uow.commit()
    return True


async def _run_started_since(
    job: JobContext[AttemptRef], target: ci.CiTarget, request: ci.Trigger, marked: datetime
) -> ci.CiRun | None:
    """The newest run of the workflow on the ref created since ``marked``: the one an
    earlier try of this job triggered before it died."""
    filters = ci.RunFilter(branch=request.ref, workflow=request.workflow or None)
    page = await ci.list_runs(job.runtime.uow(), job.runtime.settings, target, filters, limit=20)
    since = ensure_utc(marked) - ADOPT_SLACK
    for run in page.items:
        if run.created_at is not None and ensure_utc(run.created_at) >= since:
            return run
    return None


def _current(loaded: LoadedRun, attempt: Attempt) -> PipelineStepRow | None:
    row = loaded.row_by_id(attempt.step_row_id)
    if row is None or StepStatus(row.status) is not StepStatus.RUNNING:
        return None
    return row if row.attempts == attempt.number else None


def _is_waiting(row: PipelineStepRow, attempt: int) -> bool:
    return StepStatus(row.status) is StepStatus.RUNNING and row.attempts == attempt


async def _enqueue_poll(
    uow: UnitOfWork, row: PipelineStepRow, attempt: int, poll: int, errors: int, every: timedelta
) -> None:
    await enqueue(
        uow,
        kinds.CI_POLL,
        CiPoll(step=row.id, run=row.run_id, attempt=attempt, poll=poll, errors=errors),
        key=f"{kinds.CI_POLL.name}:{row.id}:{attempt}:{poll}",
        run_at=uow.now() + every,
    )


async def _complete(job: JobContext[CiPoll], result: dict[str, Any]) -> None:
    async with job.uow() as uow:
        await job.complete_in(uow, result)
        await uow.commit()


def _starter(attempt: Attempt) -> Actor:
    """The run's starter as an operator: the trigger is audited under its name."""
    return Actor(
        name=attempt.created_by, role=Role.OPERATOR, source=f"pipeline run {attempt.run_id}"
    )
