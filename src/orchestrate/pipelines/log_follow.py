"""Following a run's step logs for a reader that already holds part of each one.

The dashboard's run page shows the tail of every step's log and then streams what
follows (``/ui/runs/{id}/logs``). It says how far it has each log, in bytes of the
file; the run's events only wake the follower, and the new bytes are read from the
files, so each line arrives once and in order however the writer batched its events
(an event carries at most 500 lines of a chunk; the file has them all). A log written
by a worker on another machine is not here: its lines come from the events instead.

Stops once the run has ended, after a last read that includes an unfinished last line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field

from orchestrate.core.events import Event
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import _store as store
from orchestrate.pipelines.events import RUN_ENDINGS, StepLogged, of_run
from orchestrate.pipelines.log_files import log_size, read_log_since
from orchestrate.pipelines.models import RunStatus, StepStatus

_LOG_EVENT = StepLogged.event_type


@dataclass(frozen=True)
class LogPiece:
    """New text of one step's log: bytes ``start`` to ``end`` of its file, or, when the
    file is on another machine, lines from an event (``start`` and ``end`` are None)."""

    step: str
    text: str
    start: int | None
    end: int | None


@dataclass(frozen=True)
class LogUpdate:
    """What one batch of the run's events brought: new log text, and whether a run or
    step changed status (the reader refreshes what it shows of them). An update without
    pieces and changes is a keep-alive."""

    pieces: list[LogPiece] = field(default_factory=list)
    changed: bool = False
    last_event_id: int | None = None


async def follow_step_logs(
    runtime: Runtime, run_id: str, offsets: Mapping[str, int], *, after_id: int
) -> AsyncIterator[LogUpdate]:
    """Updates for a reader holding each step's log up to ``offsets`` (0 for a step it
    does not name) and the run's events up to ``after_id``; the first brings whatever
    was written since those offsets. Raises ``NotFound`` for an unknown run."""
    logs = _Logs(offsets)
    status = await logs.learn_paths(runtime, run_id)
    yield LogUpdate(logs.read_all(final=status.is_terminal))
    if status.is_terminal:
        return
    cursor = after_id
    async for batch in runtime.events.follow(after_id, of_run(run_id)):
        if not batch:
            if (await logs.learn_paths(runtime, run_id)).is_terminal:
                break
            yield LogUpdate()
            continue
        cursor = batch[-1].id
        changed = any(event.type != _LOG_EVENT for event in batch)
        if changed or logs.lacks_path(_logged_steps(batch)):
            await logs.learn_paths(runtime, run_id)
        yield LogUpdate(logs.pieces_for(batch), changed, cursor)
        if any(event.type in RUN_ENDINGS for event in batch):
            break
    await logs.learn_paths(runtime, run_id)
    yield LogUpdate(logs.read_all(final=True), True, cursor)


class _Logs:
    """Where each step's log file is, and how far the reader has it."""

    def __init__(self, offsets: Mapping[str, int]) -> None:
        self.offsets = dict(offsets)
        self.paths: dict[str, str | None] = {}

    async def learn_paths(self, runtime: Runtime, run_id: str) -> RunStatus:
        """Read the steps' log paths (a step gets one when it starts); the run's status."""
        async with runtime.uow(read_only=True) as uow:
            run = await store.run_row(uow, run_id)
            rows = await store.step_rows(uow, run_id)
        self.paths.update({row.key: row.log_path for row in rows})
        return RunStatus(run.status)

    def lacks_path(self, keys: Iterable[str]) -> bool:
        return any(self.paths.get(key) is None for key in keys)

    def read(self, key: str, *, final: bool) -> LogPiece | None:
        """What the step's file holds past the reader's offset (None: nothing, or no file)."""
        offset = self.offsets.get(key, 0)
        text = read_log_since(self.paths.get(key), offset, whole_lines=not final)
        if text is None or not text.text:
            return None
        self.offsets[key] = text.end
        return LogPiece(key, text.text, text.start, text.end)

    def read_all(self, *, final: bool) -> list[LogPiece]:
        pieces = (self.read(key, final=final) for key in self.paths)
        return [piece for piece in pieces if piece is not None]

    def pieces_for(self, batch: list[Event]) -> list[LogPiece]:
        """New text of each step that logged in ``batch``, and the rest of each that ended."""
        pieces: list[LogPiece] = []
        for key in _logged_steps(batch):
            if log_size(self.paths.get(key)) is not None:
                piece = self.read(key, final=False)
                pieces += [piece] if piece is not None else []
            else:
                pieces += _event_lines(batch, key)
        for key in _ended_steps(batch):
            piece = self.read(key, final=True)
            pieces += [piece] if piece is not None else []
        return pieces


def _logged_steps(batch: list[Event]) -> list[str]:
    keys = (str(event.payload.get("step")) for event in batch if event.type == _LOG_EVENT)
    return list(dict.fromkeys(keys))


def _ended_steps(batch: list[Event]) -> list[str]:
    ended = []
    for event in batch:
        to = event.payload.get("to")
        if event.type.startswith("pipeline.step.") and to in _TERMINAL_STEP:
            ended.append(str(event.payload.get("step")))
    return list(dict.fromkeys(ended))


_TERMINAL_STEP = frozenset(status.value for status in StepStatus if status.is_terminal)


def _event_lines(batch: list[Event], key: str) -> list[LogPiece]:
    return [
        LogPiece(key, "".join(f"{line}\n" for line in event.payload.get("lines", [])), None, None)
        for event in batch
        if event.type == _LOG_EVENT and event.payload.get("step") == key
    ]
