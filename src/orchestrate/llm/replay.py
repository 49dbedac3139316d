"""Record a live session's provider calls to a file and replay them offline.

A session file is JSON Lines (``docs/replay.md`` has a full example)::

    {"type": "session", "version": 2, "provider": "anthropic", "model": "claude-sonnet-4-5",
     "created_at": "2026-01-01T12:00:00Z", "identity": {"agent_id": "agent_01…", …}}
    {"type": "call", "request": {…CompletionRequest…}, "response": {…CompletionResponse…}}
    {"type": "error", "request": {…}, "error": {"kind": "context_window_exceeded",
     "message": "…"}}

The header comes first; then one line per provider call, in order. A call that failed
is kept as an ``error`` line so a replay fails the same way (``kind`` is
``context_window_exceeded`` or ``provider_error``). Every line is flushed as soon as it
is written, so a crashed run keeps everything up to the crash; recording into an
existing session file appends to it.

Every agent of a tree has its own file: a sub-agent's stream sits next to its parent's,
named by the ``spawn_agent`` call that started it (``child_stream_path``); that call's
id comes from the recorded model reply, so recording and replay derive the same name.

A replay may be spread over several providers: an agent that pauses, waits for an
approval or asks a question continues in a new job with a new ``ReplayProvider``, which
finds its place in the file from the conversation it is sent (see ``_resume_point``).

Replaying checks each request against the recorded one: first its shape (the roles of
the last two messages, the tool calls of the last assistant message and the results
answering them), then its content — the system prompt and the new input since the
model's last answer, with the run's paths, ids, commits, times and durations masked
(``replay_match``). Version 1 files, recorded before the content check, are replayed
on shape only, and refused when they hold a ``spawn_agent`` call (their sub-agents
were not recorded).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from orchestrate.core.clock import Clock, SystemClock
from orchestrate.core.errors import ConfigurationError
from orchestrate.llm.errors import ContextWindowExceeded, ProviderError
from orchestrate.llm.models import (
    CompletionRequest,
    CompletionResponse,
    Message,
    Role,
    ToolResultBlock,
)
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay_match import RunIdentity, content_difference

FORMAT_VERSION = 2
"""Version 2 added the header's ``identity`` and replays compare content."""
SHAPE_ONLY_VERSION = 1
SPAWN_TOOL = "spawn_agent"
"""The agents' tool that starts a sub-agent; a version 1 file holding it cannot replay."""
_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SessionHeader(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["session"] = "session"
    version: int = FORMAT_VERSION
    provider: str
    model: str
    created_at: str
    identity: RunIdentity | None = None
    """The recording run's id, workspace, repository, branch and base, masked when comparing."""


class RecordedError(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["context_window_exceeded", "provider_error"]
    message: str


class CallLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["call"] = "call"
    request: CompletionRequest
    response: CompletionResponse


class ErrorLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["error"] = "error"
    request: CompletionRequest
    error: RecordedError


_Entry = CallLine | ErrorLine
_Line = TypeVar("_Line", SessionHeader, _Entry)
_ENTRY: TypeAdapter[_Entry] = TypeAdapter(_Entry)
_HEADER = TypeAdapter(SessionHeader)


class RecordingProvider:
    """Wraps any provider and appends each of its calls to a session file."""

    def __init__(
        self,
        inner: Provider,
        path: Path,
        *,
        clock: Clock | None = None,
        identity: RunIdentity | None = None,
    ) -> None:
        self.name = inner.name
        self.path = path
        self._inner = inner
        self._clock = clock or SystemClock()
        self._identity = identity
        path.parent.mkdir(parents=True, exist_ok=True)
        self._has_header = path.is_file() and path.stat().st_size > 0

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        try:
            response = await self._inner.complete(request)
        except ProviderError as error:
            kind: Literal["context_window_exceeded", "provider_error"] = (
                "context_window_exceeded"
                if isinstance(error, ContextWindowExceeded)
                else "provider_error"
            )
            self._append(
                ErrorLine(request=request, error=RecordedError(kind=kind, message=error.message))
            )
            raise
        self._append(CallLine(request=request, response=response))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _append(self, entry: _Entry) -> None:
        if not self._has_header:
            header = SessionHeader(
                provider=self.name,
                model=entry.request.model,
                created_at=self._clock.now().isoformat().replace("+00:00", "Z"),
                identity=self._identity,
            )
            self._write(header)
            self._has_header = True
        self._write(entry)

    def _write(self, line: BaseModel) -> None:
        # Opened per line: nothing to leak if the caller never closes us, and each line is
        # on disk (flushed by the close) before the agent acts on the response.
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line.model_dump_json() + "\n")


class ReplayProvider:
    """Answers with the responses of a recorded session, in order, without a network."""

    name = "replay"

    def __init__(
        self, path: Path, *, identity: RunIdentity | None = None, allow_missing: bool = False
    ) -> None:
        """``identity`` is the replaying run's (masked when comparing content).

        ``allow_missing`` is for a sub-agent's stream: a sub-agent that never called its
        model while recording has no file, and fails on replay only if it calls now.
        """
        self.path = path
        self._identity = identity
        self._position = 0
        self.header: SessionHeader | None
        self._entries: list[CallLine | ErrorLine]
        if allow_missing and not path.exists():
            self.header, self._entries = None, []
        else:
            self.header, self._entries = load_session(path)

    @property
    def _agent(self) -> str:
        """`` agent_01…`` when the replaying run is known, for the messages, else ``""``."""
        agent = self._identity.agent_id if self._identity else None
        return f" {agent}" if agent else ""

    @property
    def remaining(self) -> int:
        return len(self._entries) - self._position

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self._position = self._resume_point(request)
        number = self._position + 1
        if self._position >= len(self._entries):
            raise ProviderError(
                f"Replay session {self.path} has only {len(self._entries)} recorded calls and "
                f"the agent{self._agent} asked for call {number}; "
                "the run went further than the recording. Record the session again with "
                "--record.",
                path=str(self.path),
                call=number,
            )
        entry = self._entries[self._position]
        expected, actual = _tail(entry.request.messages), _tail(request.messages)
        difference = (
            f"the recording continued from {expected} but the agent sent {actual}"
            if expected != actual
            else self._content_difference(entry.request, request)
        )
        if difference:
            whose = f" of agent{self._agent}" if self._agent else ""
            raise ProviderError(
                f"Replay of {self.path} diverged at call {number}{whose}: {difference}. "
                "The agent no longer behaves as when the session was recorded; record it "
                "again with --record.",
                path=str(self.path),
                call=number,
            )
        self._position += 1
        if isinstance(entry, ErrorLine):
            if entry.error.kind == "context_window_exceeded":
                raise ContextWindowExceeded(entry.error.message, replayed=True)
            raise ProviderError(entry.error.message, replayed=True)
        return entry.response

    def _content_difference(
        self, recorded: CompletionRequest, sent: CompletionRequest
    ) -> str | None:
        if self.header is None or self.header.version == SHAPE_ONLY_VERSION:
            return None
        return content_difference(recorded, sent, self.header.identity, self._identity)

    def _resume_point(self, request: CompletionRequest) -> int:
        """The index of the recorded call that answers ``request``.

        In one uninterrupted run that is simply the next call. A run that paused, waited
        for approval or for an answer continues in a new job with a new provider, whose
        request already carries every earlier answer: each recorded call added exactly
        one assistant message, so the call to replay is the first one from here on that
        was made after as many answers, at the same point of the conversation. When none
        fits, the index of the call that should have (for the divergence error).
        """
        made = _answers_in(request.messages)
        if self._position > 0 and _answers_in(self._request_at(self._position)) == made:
            return self._position  # the common case: the next call, in order
        fallback: int | None = None
        for index in range(self._position, len(self._entries)):
            recorded = self._entries[index].request.messages
            if _answers_in(recorded) != made:
                continue
            if _tail(recorded) == _tail(request.messages):
                return index
            fallback = index if fallback is None else fallback
        return fallback if fallback is not None else max(self._position, made)

    def _request_at(self, index: int) -> Sequence[Message]:
        return self._entries[index].request.messages if index < len(self._entries) else ()

    async def aclose(self) -> None:
        return None


def load_session(path: Path) -> tuple[SessionHeader, list[CallLine | ErrorLine]]:
    """Read and check a session file; any problem is a ``ConfigurationError`` naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigurationError(
            f"Replay session file {path} does not exist; record one with --record {path}.",
            path=str(path),
        ) from None
    if not lines:
        raise ConfigurationError(f"Replay session file {path} is empty.", path=str(path))
    header = _parse(path, 1, lines[0], _HEADER, "session header")
    if header.version not in (SHAPE_ONLY_VERSION, FORMAT_VERSION):
        raise ConfigurationError(
            f"Replay session file {path} has format version {header.version}; this "
            f"Orchestrate reads versions {SHAPE_ONLY_VERSION} and {FORMAT_VERSION}.",
            path=str(path),
        )
    entries = [
        _parse(path, number, line, _ENTRY, "call or error line")
        for number, line in enumerate(lines[1:], start=2)
        if line.strip()
    ]
    if header.version == SHAPE_ONLY_VERSION and any(_spawns(entry) for entry in entries):
        raise ConfigurationError(
            f"Replay session file {path} has format version {SHAPE_ONLY_VERSION}, recorded "
            f"before sub-agents were recorded: its {SPAWN_TOOL} calls have no recording of "
            f"their sub-agents, so it cannot replay. Record it again with --record {path}.",
            path=str(path),
        )
    return header, entries


def child_stream_path(parent: Path, call_id: str) -> Path:
    """The session file of the sub-agent that the ``spawn_agent`` call ``call_id`` started.

    It sits next to the parent's: ``session.jsonl`` → ``session.<call_id>.jsonl``, and a
    grandchild's ``session.<call_id>.<its call_id>.jsonl``. An id that is not a plain
    name (the model chose it) is made one, with a hash so that two ids never collide.
    """
    key = call_id
    if not _SAFE_KEY.fullmatch(call_id):
        digest = hashlib.sha256(call_id.encode()).hexdigest()[:12]
        key = re.sub(r"[^A-Za-z0-9_-]+", "-", call_id)[:40].strip("-") + "-" + digest
    name = f"{parent.stem}.{key}{parent.suffix}"
    if len(name.encode()) > _MAX_STREAM_NAME:
        # Each level adds its call's id; deep trees would pass the file system's 255
        # bytes. The chain is then replaced by its hash: the same parent and call give
        # the same name when recording and replaying, and the name keeps its start.
        digest = hashlib.sha256(name.encode()).hexdigest()[:20]
        start = parent.stem.encode()[:_KEPT_STEM].decode(errors="ignore")
        name = f"{start}.{digest}{parent.suffix}"
    return parent.with_name(name)


_MAX_STREAM_NAME = 200
_KEPT_STEM = 100


def _spawns(entry: CallLine | ErrorLine) -> bool:
    return isinstance(entry, CallLine) and any(
        use.name == SPAWN_TOOL for use in entry.response.message.tool_uses
    )


def _parse(path: Path, number: int, line: str, adapter: TypeAdapter[_Line], what: str) -> _Line:
    try:
        return adapter.validate_json(line)
    except ValidationError as error:
        raise ConfigurationError(
            f"Replay session file {path} line {number} is not a valid {what}: {error}",
            path=str(path),
            line=number,
        ) from None


def _answers_in(messages: Sequence[Message]) -> int:
    """How many model answers a conversation holds: one per call made before it."""
    return sum(1 for message in messages if message.role is Role.ASSISTANT)


def _tail(messages: Sequence[Message]) -> str:
    """What a replayed request must share with the recorded one, in words."""
    roles = "+".join(message.role.value for message in messages[-2:]) or "no messages"
    last_assistant = next(
        (message for message in reversed(messages) if message.role is Role.ASSISTANT), None
    )
    calls = [f"{use.name}#{use.id}" for use in last_assistant.tool_uses] if last_assistant else []
    last = messages[-1] if messages else None
    results = [
        block.tool_use_id
        for block in (last.content if last and last.role is Role.USER else [])
        if isinstance(block, ToolResultBlock)
    ]
    return f"[{roles}; tool calls {calls or 'none'}; tool results {results or 'none'}]"
