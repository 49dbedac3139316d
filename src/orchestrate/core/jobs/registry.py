"""Which handler runs which kind of job, and the context a handler receives.

Registering binds a ``JobKind`` (its name and payload model) to a handler typed for
that payload: ``registry.register(CLEANUP, cleanup)`` where ``cleanup`` takes a
``JobContext[CleanupJob]``, so mypy checks that every handler reads the fields its
kind's payload has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.jobs.kinds import JobKind, NewJob, P
from orchestrate.core.jobs.models import Job
from orchestrate.core.jobs.queue import complete_job
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

Adopter = Callable[[UnitOfWork, NewJob[Any]], Awaitable[Job | None]]
"""How a runner takes a follow-up job in the caller's transaction (see ``adopt_in``)."""


class JobContext(Generic[P]):
    """What a handler gets: the job, its parsed payload, the runtime, a way to finish atomically.

    A handler whose work writes to the database calls ``complete_in(uow)`` before
    ``uow.commit()``: the job is then marked succeeded in the same transaction as its
    effects, and if this worker lost the job meanwhile the whole transaction fails
    with ``LeaseLost`` — so the effects are committed exactly once.
    """

    def __init__(
        self,
        job: Job,
        payload: P,
        runtime: Runtime,
        worker_id: str,
        adopter: Adopter | None = None,
    ) -> None:
        self.job = job
        self.payload = payload
        self.runtime = runtime
        self.worker_id = worker_id
        self.completed = False
        self._adopter = adopter
        self.has_adopted = False

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()

    async def complete_in(self, uow: UnitOfWork, result: Any = None) -> None:
        await complete_job(
            uow.session, self.job, owner=self.worker_id, result=result, now=uow.now()
        )
        self.completed = True

    async def adopt_in(self, uow: UnitOfWork, new_job: NewJob[Any]) -> Job | None:
        """Enqueue a follow-up of this job already leased to this worker; None if not taken.

        Once ``uow`` commits, the runner starts the follow-up itself, sparing it a claim
        transaction. Only one follow-up of the same kind per job, so it inherits this
        job's slot and the worker's capacity stays what it was. When None is returned
        nothing was enqueued: the caller enqueues the job the ordinary way.
        """
        if self._adopter is None or self.has_adopted or new_job.kind.name != self.job.kind:
            return None
        adopted = await self._adopter(uow, new_job)
        self.has_adopted = adopted is not None
        return adopted


JobHandler = Callable[[JobContext[P]], Awaitable[Any]]
"""A handler of jobs whose payload is a ``P``."""


@dataclass(frozen=True)
class HandlerSpec:
    kind: JobKind[Any]
    handler: JobHandler[Any]
    timeout: timedelta | None = None
    max_concurrent: int | None = None
    """At most this many jobs of the kind run at once in one worker process."""

    @property
    def name(self) -> str:
        return self.kind.name


class JobRegistry:
    """Handlers by job kind; a worker only claims the kinds it has handlers for."""

    def __init__(self) -> None:
        self._specs: dict[str, HandlerSpec] = {}

    def register(
        self,
        kind: JobKind[P],
        handler: JobHandler[P],
        *,
        timeout: timedelta | None = None,
        max_concurrent: int | None = None,
    ) -> None:
        if kind.name in self._specs:
            raise ConfigurationError(f"Two handlers registered for job kind {kind.name!r}")
        if max_concurrent is not None and max_concurrent < 1:
            raise ConfigurationError(f"max_concurrent of {kind.name!r} must be at least 1")
        self._specs[kind.name] = HandlerSpec(kind, handler, timeout, max_concurrent)

    def handler(
        self,
        kind: JobKind[P],
        *,
        timeout: timedelta | None = None,
        max_concurrent: int | None = None,
    ) -> Callable[[JobHandler[P]], JobHandler[P]]:
        """Decorator form of ``register``."""

        def decorate(handler: JobHandler[P]) -> JobHandler[P]:
            self.register(kind, handler, timeout=timeout, max_concurrent=max_concurrent)
            return handler

        return decorate

    def get(self, kind: str) -> HandlerSpec:
        return self._specs[kind]

    @property
    def kinds(self) -> list[str]:
        return sorted(self._specs)

    @property
    def specs(self) -> list[HandlerSpec]:
        return [self._specs[kind] for kind in self.kinds]

    def merge(self, other: JobRegistry) -> None:
        for spec in other._specs.values():
            self.register(
                spec.kind, spec.handler, timeout=spec.timeout, max_concurrent=spec.max_concurrent
            )
