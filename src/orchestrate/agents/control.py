"""Operator requests (pause, cancel) reaching a running agent within about a second.

The loop runs each slow operation — a model call, a tool — through
``ControlWatcher.interruptible``. One poller per process and database reads the
``control`` column of every agent running there every half second (one query however
many agents run); when a request appears it cancels that agent's operation in flight,
which then raises ``Interrupted`` in the loop. A cancellation from outside (the worker
shutting down, a lost job lease) is left alone and propagates as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents.models import ControlRequest
from orchestrate.core.runtime import Runtime

log = structlog.get_logger(__name__)

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
        self._interrupting = False  # this watcher cancelled ``_current``

    def start(self) -> None:
        _poller_for(self.runtime).add(self)

    async def stop(self) -> None:
        _poller_for(self.runtime).discard(self)

    def deliver(self, request: ControlRequest) -> None:
        if self.request is None:
            self.request = request
            if self._current is not None:
                self._interrupting = True
                self._current.cancel()

    def check(self) -> None:
        """Raise ``Interrupted`` if a request arrived between operations."""
        if self.request is not None:
            raise Interrupted(self.request)

    async def interruptible(self, work: Awaitable[T]) -> T:
        """Await ``work``; a pause or cancel request arriving meanwhile cancels it.

        The work runs in this task, not in a new one: a new task starts only at the
        event loop's next pass, behind every task ready before it, so twenty agents
        started by one claim all sent their model requests when the last of them was
        ready, and their replies all came back together (bench/agent_tree.py). A request
        cancels this task instead; the cancellation is taken back (``uncancel``) and
        raised as ``Interrupted``, the way ``asyncio.timeout`` turns its own into
        ``TimeoutError``. A cancellation from elsewhere still propagates.
        """
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("interruptible() awaited outside a task")
        self._current, self._interrupting = task, False
        try:
            result = await work
        except asyncio.CancelledError:
            if self._interrupting and task.uncancel() == 0 and self.request is not None:
                raise Interrupted(self.request) from None
            raise
        finally:
            interrupted, self._current, self._interrupting = self._interrupting, None, False
        if interrupted:  # the work returned before the cancellation reached it
            task.uncancel()
        return result


class _ControlPoller:
    """Polls the control requests of all agents this process runs on one database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.watchers: dict[str, ControlWatcher] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, watcher: ControlWatcher) -> None:
        self.watchers[watcher.agent_id] = watcher
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = asyncio.create_task(self._poll(), name="agent-control-poller")

    def discard(self, watcher: ControlWatcher) -> None:
        if self.watchers.get(watcher.agent_id) is watcher:
            del self.watchers[watcher.agent_id]

    async def _poll(self) -> None:
        while self.watchers:
            await asyncio.sleep(POLL_SECONDS)
            watched = list(self.watchers)
            if not watched:
                break
            try:
                async with self.runtime.uow(read_only=True) as uow:
                    requests = await store.control_requests(uow, watched)
            except Exception:  # a database hiccup: try again at the next tick
                log.warning("agent_control_poll_failed", exc_info=True)
                continue
            for agent_id, request in requests.items():
                watcher = self.watchers.get(agent_id)
                if watcher is not None:
                    watcher.deliver(request)


_pollers: dict[int, _ControlPoller] = {}


def _poller_for(runtime: Runtime) -> _ControlPoller:
    key = id(runtime.database)
    poller = _pollers.get(key)
    if poller is None or poller.runtime.database is not runtime.database:
        poller = _pollers[key] = _ControlPoller(runtime)
    return poller
