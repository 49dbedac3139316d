"""Operator requests (pause, cancel) reaching a running agent within about a second.

The loop runs each slow operation — a model call, a tool — through
``ControlWatcher.interruptible``. A background task polls the run's ``control`` column
every half second; when a request appears it cancels the operation in flight, which
then raises ``Interrupted`` in the loop. A cancellation from outside (the worker
shutting down, a lost job lease) is left alone and propagates as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from orchestrate.agents import _store as store
from orchestrate.agents.models import ControlRequest
from orchestrate.core.runtime import Runtime

T = TypeVar("T")
POLL_SECONDS = 0.5


class Interrupted(Exception):
    def __init__(self, request: ControlRequest) -> None:
        super().__init__(request.value)
        self.request = request


class ControlWatcher:
    def __init__(self, runtime: Runtime, agent_id: str) -> None:
        self.runtime = runtime
        self.agent_id = agent_id
        self.request: ControlRequest | None = None
        self._current: asyncio.Task[Any] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"agent-control:{self.agent_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def check(self) -> None:
        """Raise ``Interrupted`` if a request arrived between operations."""
        if self.request is not None:
            raise Interrupted(self.request)

    async def interruptible(self, work: Awaitable[T]) -> T:
        """Await ``work`` in a task that a pause or cancel request cancels."""
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        self._current = task
        try:
            return await task
        except asyncio.CancelledError:
            outer = asyncio.current_task()
            if self.request is not None and not (outer and outer.cancelling()):
                raise Interrupted(self.request) from None
            raise
        finally:
            self._current = None
            if not task.done():
                task.cancel()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            async with self.runtime.uow(read_only=True) as uow:
                request = await store.control_of(uow, self.agent_id)
            if request is not None and self.request is None:
                self.request = request
                if self._current is not None:
                    self._current.cancel()
