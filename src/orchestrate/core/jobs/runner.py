"""The worker loop: claim due jobs in batches, run their handlers, record the outcomes.

One transaction per loop turn both records the outcomes of finished jobs and claims
new ones, so with batches of 32 a turn costs one commit for up to 64 job state
changes (bench/jobs.py measures what that buys). A heartbeat task renews the
leases of running jobs; a job whose lease was taken over is cancelled here and its
result discarded. Expired leases of dead
workers are reclaimed by whichever worker notices first. A handler may hand its
follow-up job to this runner in its own finishing transaction (``adopt_in``), so a
chain of jobs costs no claim transactions.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from orchestrate.core.events import record_event
from orchestrate.core.jobs import signals
from orchestrate.core.jobs.events import JobDeadLettered
from orchestrate.core.jobs.kinds import NewJob
from orchestrate.core.jobs.metrics import JOB_DURATION, JOB_START_DELAY, JOBS_PROCESSED
from orchestrate.core.jobs.models import Job, JobFailed, JobStatus, LeaseLost, RetryPolicy
from orchestrate.core.jobs.queue import (
    claim_due_jobs,
    complete_jobs,
    enqueue_leased,
    fail_job,
    next_due_at,
    reclaim_expired_leases,
    release_jobs,
    renew_leases,
)
from orchestrate.core.jobs.registry import JobContext, JobRegistry
from orchestrate.core.jobs.watchers import ChangeWatcher, NullWatcher, can_watch, open_watcher
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)

_MIN_IDLE_SLEEP = 0.005
_WATCHER_RETRY = 5.0
"""Seconds between attempts to reopen a watcher that went away (polling meanwhile)."""


@dataclass(frozen=True)
class RunnerConfig:
    concurrency: int = 32
    batch_size: int = 32
    lease: timedelta = timedelta(seconds=30)
    poll_max: timedelta = timedelta(seconds=1)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    shutdown_grace: timedelta = timedelta(seconds=10)

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            concurrency=settings.worker_concurrency,
            batch_size=settings.worker_batch_size,
            lease=timedelta(seconds=settings.job_lease_seconds),
            poll_max=timedelta(seconds=settings.worker_poll_max_seconds),
            shutdown_grace=timedelta(seconds=settings.shutdown_grace_seconds),
            retry=RetryPolicy(
                base=timedelta(seconds=settings.job_retry_base_seconds),
                cap=timedelta(seconds=settings.job_retry_max_seconds),
            ),
        )


@dataclass(frozen=True)
class _Outcome:
    job: Job
    succeeded: bool
    result: Any = None
    error: str = ""
    retry: bool = True
    retry_after: timedelta | None = None


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobRunner:
    """Runs the jobs of the registry's kinds until stopped."""

    def __init__(
        self,
        runtime: Runtime,
        registry: JobRegistry,
        config: RunnerConfig | None = None,
        *,
        worker_id: str | None = None,
        only_jobs: Iterable[str] | None = None,
    ) -> None:
        """``only_jobs`` limits the runner to these job ids: ``--wait`` runs its own job."""
        self.runtime = runtime
        self._only = None if only_jobs is None else frozenset(only_jobs)
        self.registry = registry
        self.config = config or RunnerConfig.from_settings(runtime.settings)
        self.worker_id = worker_id or new_worker_id()
        self._in_flight: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        self._outcomes: list[_Outcome] = []
        self._lost: set[str] = set()
        self._released: list[Job] = []
        self._wake = _Doorbell()
        # Kinds a claim found nothing more of, as of the doorbell's ``rings`` then: a
        # turn skips them until something rings (``_known_empty``).
        self._empty: set[str] = set()
        self._empty_as_of = -1
        self._stopping = False
        self._last_reclaim = 0.0
        self._next_due: datetime | None = None  # of the queued jobs, as of the last turn
        self._watcher: ChangeWatcher = NullWatcher()
        self._watcher_opened = 0.0

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> None:
        """Work until ``stop`` is set (or, with ``until_idle``, until nothing is due)."""
        stop = stop or asyncio.Event()
        if not self.registry.kinds:
            log.warning("job_runner_has_no_handlers", worker_id=self.worker_id)
        signals.register(self._wake)
        await self._open_watcher()
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name="job-heartbeat")
        stop_relay = asyncio.create_task(self._relay(stop), name="job-stop-relay")
        log.info("job_runner_started", worker_id=self.worker_id, kinds=self.registry.kinds)
        try:
            await self._loop(stop, until_idle)
        finally:
            await self._drain()
            heartbeat.cancel()
            stop_relay.cancel()
            await asyncio.gather(heartbeat, stop_relay, return_exceptions=True)
            await self._watcher.close()
            signals.unregister(self._wake)
            log.info("job_runner_stopped", worker_id=self.worker_id)

    async def _relay(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.nudge()

    async def _loop(self, stop: asyncio.Event, until_idle: bool) -> None:
        idle_sleep = _MIN_IDLE_SLEEP
        while not stop.is_set():
            # A job finishing during the claim may enqueue more work and leave the runner
            # with nothing in flight; only a turn that began idle may end an idle run.
            began_idle = not self._in_flight and not self._outcomes
            try:
                claimed, wanted = await self._turn()
            except Exception:
                log.exception("job_runner_turn_failed", worker_id=self.worker_id)
                await asyncio.sleep(min(idle_sleep * 4, self.config.poll_max.total_seconds()))
                continue
            idle = not claimed and not self._in_flight and not self._outcomes
            if until_idle and idle and began_idle:
                return
            if claimed and claimed == wanted:
                idle_sleep = _MIN_IDLE_SLEEP
                continue  # a full batch: more is probably waiting
            if self._watcher.live:
                # Every enqueue wakes us: a turn that found nothing waits for the next
                # wake-up (or a due job), not for a re-poll that would find nothing
                # either; polling is a safety net only. Without a live watcher: back-off.
                idle_sleep = self.config.poll_max.total_seconds()
            elif self._watcher_retry_due():
                await self._open_watcher()
            woke = await self._wait(self._until_next_due(idle_sleep))
            if not woke:  # a job may have come due, or a signal been missed: look again
                self._wake.ring_silently()
            poll_max = self.config.poll_max.total_seconds()
            idle_sleep = _MIN_IDLE_SLEEP if woke else min(idle_sleep * 2, poll_max)

    async def _open_watcher(self) -> None:
        """(Re)open the watcher; one that cannot be opened leaves the runner polling."""
        await self._watcher.close()
        self._watcher_opened = time.monotonic()
        self._watcher = await open_watcher(self.runtime.database.engine.url, self._wake)

    def _watcher_retry_due(self) -> bool:
        """A watcher that went away or could not open is tried again now and then."""
        return (
            can_watch(self.runtime.database.engine.url)
            and time.monotonic() - self._watcher_opened >= _WATCHER_RETRY
        )

    def _until_next_due(self, idle_sleep: float) -> float:
        """Sleep no longer than until the next queued job is due (a tick, a retry)."""
        if self._next_due is None:
            return idle_sleep
        until = (self._next_due - self.runtime.clock.now()).total_seconds()
        # A job due already but not claimed (a capped kind is full, another worker
        # holds it) is what the idle backoff is for; waking for it would spin.
        return min(idle_sleep, until) if until > 0 else idle_sleep

    async def _wait(self, seconds: float) -> bool:
        """Sleep until woken or ``seconds`` passed; False when nothing woke us."""
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    async def _turn(self) -> tuple[int, int]:
        """Record finished outcomes, reclaim dead workers' jobs, claim new ones: one commit.

        Kinds a claim has drained are not claimed again until something rings (a new
        job announced, a poll, a job coming due): a turn that only records a finished
        job's outcome, or a slot freed with nothing queued, then costs no claim.
        """
        outcomes, self._outcomes = self._outcomes, []
        free = self.config.concurrency - len(self._in_flight)
        plan = [] if self._stopping else self._claim_plan(free)
        known_empty = self._known_empty()
        plan = [(kinds, limit) for kinds, limit in plan if not known_empty.issuperset(kinds)]
        wanted = min(self.config.batch_size, free) if plan else 0
        reclaim_now = time.monotonic() - self._last_reclaim >= self._reclaim_interval()
        if not outcomes and not wanted and not reclaim_now:
            return 0, 0
        try:
            claimed = await self._transact(outcomes, plan, reclaim_now)
        except BaseException:
            self._outcomes[:0] = outcomes  # keep them for the next turn
            raise
        for job, due_at in claimed:
            self._start(job, due_at)
        return len(claimed), wanted

    def _known_empty(self) -> set[str]:
        """The kinds the last claims drained, unless something rang or came due since."""
        if self._next_due is not None and self._next_due <= self.runtime.clock.now():
            self._wake.ring_silently()
        if self._empty_as_of != self._wake.rings:
            self._empty = set()
            self._empty_as_of = self._wake.rings
        return self._empty

    def _note_drained(self, drained: list[str], refilled: list[str], rings_before: int) -> None:
        """Remember what a claim drained, unless a ring came while it ran (the claim's
        snapshot may predate what rang)."""
        if self._wake.rings != rings_before:
            return
        if self._empty_as_of != rings_before:
            self._empty, self._empty_as_of = set(), rings_before
        self._empty.update(drained)
        self._empty.difference_update(refilled)

    def _reclaim_interval(self) -> float:
        return max(0.5, min(self.config.lease.total_seconds() / 4, 10.0))

    def _claim_plan(self, free: int) -> list[tuple[list[str], int]]:
        """Which kinds to claim and at most how many of each, within per-kind caps.

        The batch budget is shared in ``_transact``: what a capped kind does not claim
        (it has nothing due) is left for the uncapped kinds of the same turn.
        """
        budget = min(self.config.batch_size, free)
        if budget <= 0:
            return []
        running: dict[str, int] = {}
        for job, _ in self._in_flight.values():
            running[job.kind] = running.get(job.kind, 0) + 1
        plan: list[tuple[list[str], int]] = []
        for spec in self.registry.specs:
            if spec.max_concurrent is None:
                continue
            room = min(spec.max_concurrent - running.get(spec.name, 0), budget)
            if room > 0:
                plan.append(([spec.name], room))
        uncapped = [s.name for s in self.registry.specs if s.max_concurrent is None]
        if uncapped:
            plan.append((uncapped, budget))
        return plan

    async def _transact(
        self, outcomes: list[_Outcome], plan: list[tuple[list[str], int]], reclaim_now: bool
    ) -> list[tuple[Job, datetime]]:
        rings = self._wake.rings
        drained: list[str] = []
        refilled: list[str] = []
        async with self.runtime.uow() as uow:
            now = uow.now()
            await self._record(uow, outcomes, now)
            if reclaim_now:
                reclaimed = await reclaim_expired_leases(uow.session, now=now)
                if reclaimed:
                    log.warning("job_leases_reclaimed", count=reclaimed, worker_id=self.worker_id)
                    self._wake.ring_silently()
            claimed: list[tuple[Job, datetime]] = []
            budget = min(self.config.batch_size, self.config.concurrency - len(self._in_flight))
            for kinds, limit in plan:
                if len(claimed) >= budget:
                    break
                asked = min(limit, budget - len(claimed))
                got = await claim_due_jobs(
                    uow.session,
                    owner=self.worker_id,
                    kinds=kinds,
                    limit=asked,
                    now=now,
                    lease=self.config.lease,
                    only=self._only,
                )
                claimed += got
                (drained if len(got) < asked else refilled).extend(kinds)
            if plan and len(claimed) < budget:  # nothing more is due: when will it be?
                kinds = [kind for plan_kinds, _ in plan for kind in plan_kinds]
                self._next_due = await next_due_at(uow.session, kinds=kinds, only=self._only)
            await uow.commit()
        if reclaim_now:
            self._last_reclaim = time.monotonic()
        self._note_drained(drained, refilled, rings)
        return claimed

    async def _record(self, uow: UnitOfWork, outcomes: list[_Outcome], now: datetime) -> None:
        successes = [(o.job, o.result) for o in outcomes if o.succeeded]
        await complete_jobs(uow.session, successes, owner=self.worker_id, now=now)
        for job, _ in successes:
            JOBS_PROCESSED.labels(job.kind, "succeeded").inc()
        for outcome in (o for o in outcomes if not o.succeeded):
            await self._record_failure(uow, outcome, now)

    async def _record_failure(self, uow: UnitOfWork, outcome: _Outcome, now: datetime) -> None:
        job = outcome.job
        retry_at = None
        if outcome.retry and not job.is_last_attempt:
            delay = self.config.retry.delay_after(job.attempt)
            retry_at = now + max(delay, outcome.retry_after or delay)
        status = await fail_job(
            uow.session, job, owner=self.worker_id, error=outcome.error, now=now, retry_at=retry_at
        )
        if status is None:
            JOBS_PROCESSED.labels(job.kind, "lease_lost").inc()
            return
        if retry_at is not None and status is not JobStatus.DEAD:  # wake when it is due
            self._next_due = retry_at if self._next_due is None else min(self._next_due, retry_at)
        if status is JobStatus.DEAD:
            JOBS_PROCESSED.labels(job.kind, "dead").inc()
            record_event(
                uow, JobDeadLettered(subject=job.id, kind=job.kind, error=outcome.error[:500])
            )
            log.error("job_dead", job_id=job.id, kind=job.kind, attempt=job.attempt)
        else:
            JOBS_PROCESSED.labels(job.kind, "retried").inc()
            log.warning(
                "job_failed_will_retry",
                job_id=job.id,
                kind=job.kind,
                attempt=job.attempt,
                retry_at=retry_at.isoformat() if retry_at else None,
            )

    def _start(self, job: Job, due_at: datetime) -> None:
        delay = (self.runtime.clock.now() - due_at).total_seconds()
        JOB_START_DELAY.labels(job.kind).observe(max(delay, 0.0))
        task = asyncio.create_task(self._execute(job), name=f"job:{job.id}")
        self._in_flight[job.id] = (job, task)

    async def _execute(self, job: Job) -> None:
        spec = self.registry.get(job.kind)
        context: JobContext[Any] | None = None
        started = time.monotonic()
        outcome: _Outcome | None = None
        try:
            # A payload that does not fit its model raises PayloadInvalid (a JobFailed
            # that is never retried): the job goes to the dead letters with the reason.
            context = JobContext(
                job, spec.kind.parse(job.payload), self.runtime, self.worker_id, self._adopt
            )
            timeout = spec.timeout.total_seconds() if spec.timeout else None
            async with asyncio.timeout(timeout):
                result = await spec.handler(context)
            if not context.completed:
                outcome = _Outcome(job, succeeded=True, result=_json_safe(result))
            else:
                JOBS_PROCESSED.labels(job.kind, "succeeded").inc()
        except asyncio.CancelledError:
            if job.id in self._lost:
                JOBS_PROCESSED.labels(job.kind, "lease_lost").inc()
            elif self._stopping:
                self._released.append(job)
            else:
                raise
        except LeaseLost:
            JOBS_PROCESSED.labels(job.kind, "lease_lost").inc()
            log.warning("job_lease_lost", job_id=job.id, kind=job.kind)
        except JobFailed as error:
            outcome = _Outcome(
                job,
                succeeded=False,
                error=str(error),
                retry=error.retry,
                retry_after=error.retry_after,
            )
        except TimeoutError:
            outcome = _Outcome(job, succeeded=False, error=f"timed out after {spec.timeout}")
        except Exception as error:
            outcome = _Outcome(job, succeeded=False, error=_describe(error))
        finally:
            # An adopted follow-up holds this job's slot already (see ``_adopt``).
            adopted = context is not None and context.has_adopted
            was_full = len(self._in_flight) - adopted >= self.config.concurrency
            self._in_flight.pop(job.id, None)
            self._lost.discard(job.id)
            JOB_DURATION.labels(job.kind).observe(time.monotonic() - started)
        if outcome is not None:
            self._outcomes.append(outcome)
        # A job that completed itself leaves nothing to record; a claim is worth a write
        # transaction only when this freed a slot others wait for, or the runner is idle.
        if outcome is not None or was_full or not self._in_flight or spec.max_concurrent:
            self._wake.nudge()

    async def _adopt(self, uow: UnitOfWork, new_job: NewJob[Any]) -> Job | None:
        """Enqueue ``new_job`` leased to this worker; start it once ``uow`` has committed."""
        kinds = self.registry.kinds
        if self._stopping or self._only is not None or new_job.kind.name not in kinds:
            return None
        now = uow.now()
        job = await enqueue_leased(
            uow.session, new_job, owner=self.worker_id, now=now, lease=self.config.lease
        )
        if job is not None:
            uow.after_commit(lambda: self._start_adopted(job, now))
        return job

    def _start_adopted(self, job: Job, due_at: datetime) -> None:
        if self._stopping:  # the drain gives it back with the other unstarted jobs
            self._released.append(job)
        else:
            self._start(job, due_at)

    async def _heartbeat_loop(self) -> None:
        interval = self.config.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            held = [job for job, _ in self._in_flight.values()]
            if not held:
                continue
            try:
                async with self.runtime.uow() as uow:
                    owned = await renew_leases(
                        uow.session,
                        held,
                        owner=self.worker_id,
                        now=uow.now(),
                        lease=self.config.lease,
                    )
                    await uow.commit()
            except Exception:
                log.exception("job_heartbeat_failed", worker_id=self.worker_id)
                continue
            for job in held:
                entry = self._in_flight.get(job.id)
                if job.id not in owned and entry is not None:
                    log.warning("job_lease_lost", job_id=job.id, kind=job.kind)
                    self._lost.add(job.id)
                    entry[1].cancel()

    async def _drain(self) -> None:
        """Stop claiming, let running jobs finish within the grace period, give back the rest."""
        self._stopping = True
        tasks = [task for _, task in self._in_flight.values()]
        if tasks:
            _, pending = await asyncio.wait(
                tasks, timeout=self.config.shutdown_grace.total_seconds()
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            async with self.runtime.uow() as uow:
                now = uow.now()
                outcomes, self._outcomes = self._outcomes, []
                await self._record(uow, outcomes, now)
                await release_jobs(uow.session, self._released, owner=self.worker_id, now=now)
                if self._released:  # other workers may have them drained: ring theirs
                    await signals.announce_new_jobs(uow)
                await uow.commit()
        except Exception:
            log.exception("job_runner_drain_failed", worker_id=self.worker_id)
        self._released.clear()


def _json_safe(result: Any) -> Any:
    try:
        json.dumps(result)
    except (TypeError, ValueError):
        raise JobFailed(
            f"handler returned a value that is not JSON: {type(result).__name__}", retry=False
        ) from None
    return result


def _describe(error: BaseException) -> str:
    frames = traceback.format_exception(error, limit=-5)
    return "".join(frames).strip()


class _Doorbell(asyncio.Event):
    """The runner's wake event, counting the rings that may mean new work.

    ``set`` is what the signals and watchers call when jobs were announced; each ring
    voids what the runner knew to be drained. ``nudge`` wakes the runner for its own
    business (a finished job to record, a slot freed, a stop) without that meaning.
    """

    def __init__(self) -> None:
        super().__init__()
        self.rings = 0

    def set(self) -> None:
        self.rings += 1
        super().set()

    def nudge(self) -> None:
        super().set()

    def ring_silently(self) -> None:
        """Void what is known drained without waking anyone (a poll, a job come due)."""
        self.rings += 1
