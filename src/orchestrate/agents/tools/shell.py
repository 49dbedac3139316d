"""The ``bash`` tool, and the process runner every tool that starts a program uses.

Every program starts inside the sandbox (``orchestrate.core.sandbox``): the workspace
is the only writable place, the environment is the explicit minimal one the tool
context carries, and there is no network unless the agent type asks for it.

Each command runs in its own session (``start_new_session``), so its process group
holds everything it started: a timeout or a cancellation signals the whole group
(SIGTERM, then SIGKILL after a short grace) and no ``sleep`` or test server outlives
the call. Processes left in the background when the command returns are stopped too.

Output (stdout and stderr interleaved, as a terminal shows them) is kept as a head and
a tail while it streams, so a command printing gigabytes costs bounded memory and the
model still sees how it started and how it ended. It is masked as it streams, before
anything is cut away: a secret never shows in part.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from orchestrate.agents.tools.base import (
    ToolArguments,
    ToolContext,
    ToolInputError,
    ToolOutput,
    clip_middle,
    input_schema,
    omission_marker,
    parse_arguments,
)
from orchestrate.agents.tools.paths import workspace_root
from orchestrate.core.masking import Masker, process_masker
from orchestrate.core.process_group import terminate_group
from orchestrate.core.sandbox import (
    ChildProcess,
    Confinement,
    SandboxedProcess,
    SandboxPolicy,
    spawn,
)
from orchestrate.llm.service import ToolSpec

KILL_GRACE_SECONDS = 0.5
"""How long a process group gets between SIGTERM and SIGKILL."""

_DRAIN_SECONDS = 1.0
_POLL_SECONDS = 0.02
_READ_CHUNK = 65_536

_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "COOKIE")
# Matched as whole ``_``-separated parts, so GIT_AUTHOR_NAME stays.
_SECRET_PARTS = frozenset({"AUTH", "OAUTH", "AUTHORIZATION", "PAT", "DSN"})
_SECRET_PREFIXES = (
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "GCP_",
    "ANTHROPIC_",
    "OPENAI_",
    "GITHUB_",
    "GH_",
    "GITLAB_",
    "ORCHESTRATE_",
    "DOCKER_",
    "NPM_CONFIG_",
    "PYPI_",
    "TWINE_",
    "SENTRY_",
)
_SECRET_NAMES = frozenset({"DATABASE_URL", "REDIS_URL", "PGPASSFILE", "NETRC", "KUBECONFIG"})
# Not secrets, but each would point git inside the workspace at another repository.
GIT_LOCATION_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
    }
)
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]*:[^/\s@]+@")


def scrubbed_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without the variables an agent's commands must not see.

    Drops names that look secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``,
    ``*CREDENTIAL*``, an ``AUTH`` part (as in ``SSH_AUTH_SOCK``) and vendor
    prefixes such as ``AWS_``, ``ANTHROPIC_``, ``OPENAI_``, ``GITHUB_``,
    ``ORCHESTRATE_``), any value holding a URL with a password, and git's location
    variables. ``PATH``, ``HOME``, ``LANG``, ``TERM`` and the like are kept. A name
    list cannot know every secret: pass credentials to agents deliberately, never by
    inheritance.
    """
    return {name: value for name, value in base.items() if not _is_hidden(name, value)}


def _is_hidden(name: str, value: str) -> bool:
    upper = name.upper()
    return (
        any(word in upper for word in _SECRET_WORDS)
        or not _SECRET_PARTS.isdisjoint(upper.split("_"))
        or upper.startswith(_SECRET_PREFIXES)
        or upper in _SECRET_NAMES
        or upper in GIT_LOCATION_VARIABLES
        or _URL_WITH_PASSWORD.search(value) is not None
    )


@dataclass(frozen=True)
class ProcessResult:
    """What a finished (or stopped) command left behind."""

    output: str
    exit_code: int | None
    timed_out: bool
    duration_seconds: float


class _HeadTail:
    """The first and last ``limit`` characters of a stream, masked, and how many fell between.

    Bytes are decoded incrementally, so a character split across two reads stays whole.
    Text is masked before it is cut, and taken from the stream only where the masker's
    ``safe_cut`` allows: neither the end of the head nor the start of the tail can show
    part of a secret whose other part was dropped.
    """

    def __init__(self, limit: int, masker: Masker) -> None:
        self.limit = limit
        self.head = ""
        self.tail = ""
        self.dropped = 0
        self._masker = masker
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def add(self, chunk: bytes) -> None:
        self._pending += self._decoder.decode(chunk)
        cut = self._masker.safe_cut(self._pending)
        self._keep(self._masker.mask(self._pending[:cut]))
        self._pending = self._pending[cut:]

    def text(self, limit: int) -> str:
        """What was kept, about ``limit`` characters; the stream is taken as ended."""
        self._pending += self._decoder.decode(b"", final=True)
        self._keep(self._masker.mask(self._pending))
        self._pending = ""
        if not self.dropped:
            return clip_middle(self.head + self.tail, limit)
        head_part = self.head[: limit // 2]
        tail_part = self.tail[len(self.tail) - (limit - len(head_part)) :]
        omitted = len(self.head) - len(head_part) + self.dropped + len(self.tail) - len(tail_part)
        return head_part + omission_marker(omitted) + tail_part

    def _keep(self, masked: str) -> None:
        room = self.limit - len(self.head)
        if room > 0:
            self.head += masked[:room]
            masked = masked[room:]
        self.tail += masked
        excess = len(self.tail) - self.limit
        if excess > 0:
            self.tail = self.tail[excess:]
            self.dropped += excess


@dataclass(frozen=True)
class ProcessScope:
    """Where a tool's program runs: its sandbox, workspace, directory and environment."""

    sandbox: SandboxPolicy
    workspace: Path
    cwd: Path
    env: Mapping[str, str]
    network: bool = False

    @classmethod
    def of(
        cls,
        context: ToolContext,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        network: bool | None = None,
    ) -> ProcessScope:
        """The context's scope; ``network`` off for tools that never need it (git, grep)."""
        return cls(
            sandbox=context.sandbox,
            workspace=workspace_root(context.workspace),
            cwd=cwd or context.workspace,
            env=context.env if env is None else env,
            network=context.network if network is None else network,
        )


async def run_process(
    argv: Sequence[str],
    *,
    scope: ProcessScope,
    time_limit: float,
    output_limit: int,
    masker: Masker | None = None,
) -> ProcessResult:
    """Run ``argv`` (no shell) sandboxed in its own process group; collect capped output.

    The output is masked (by ``masker``, the process's masker when not given) before
    it is capped, so the cap never leaves part of a secret visible.

    On timeout the group is stopped and the result says so; on cancellation the group
    is stopped before ``CancelledError`` propagates. A program that cannot be started
    raises ``ToolInputError``.
    """
    started = time.monotonic()
    sandboxed = await _start(argv, scope)
    process = sandboxed.process
    assert process.stdout is not None  # PIPE was requested above
    buffer = _HeadTail(output_limit, masker or process_masker())
    reader = asyncio.create_task(_pump(process.stdout, buffer))
    try:
        timed_out = await _wait_for_exit(process, reader, time_limit)
        # The leader is gone (or overdue); whatever it left running goes with the group.
        # In the sandbox a leader that exited by itself took everything with it: its
        # PID namespace ends with its init, and the kernel ends every member first.
        if timed_out or not scope.sandbox.is_confined:
            await terminate_group(process.pid, KILL_GRACE_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), _DRAIN_SECONDS)
    except asyncio.CancelledError:
        await terminate_group(process.pid, KILL_GRACE_SECONDS)
        raise
    finally:
        reader.cancel()
        await sandboxed.close()
    return ProcessResult(
        output=buffer.text(output_limit),
        exit_code=None if timed_out else process.returncode,
        timed_out=timed_out,
        duration_seconds=time.monotonic() - started,
    )


async def _start(argv: Sequence[str], scope: ProcessScope) -> SandboxedProcess:
    """Start ``argv`` in a new session; a cancellation meanwhile still stops its group.

    The program runs before ``create_subprocess_exec`` returns. Cancelled at that
    moment, asyncio would kill only the leader and then wait for the pipe, which a
    child holds open for as long as it lives; so the start is shielded and the whole
    group stopped here.
    """
    confinement = Confinement(workspace=scope.workspace, env=dict(scope.env), network=scope.network)
    starting = asyncio.ensure_future(
        spawn(
            scope.sandbox,
            confinement,
            argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    )
    try:
        return await asyncio.shield(starting)
    except OSError as error:
        raise ToolInputError(f"Cannot start {argv[0]}: {error.strerror}") from None
    except asyncio.CancelledError:
        with contextlib.suppress(OSError):
            started = await starting
            await terminate_group(started.process.pid, KILL_GRACE_SECONDS)
            await started.close()
        raise


async def _pump(stream: asyncio.StreamReader, buffer: _HeadTail) -> None:
    while chunk := await stream.read(_READ_CHUNK):
        buffer.add(chunk)


async def _wait_for_exit(
    process: ChildProcess, reader: asyncio.Task[None], time_limit: float
) -> bool:
    """Wait until the leader exits; ``True`` if ``time_limit`` passed first.

    ``Process.wait()`` would also wait for the pipe to close, which a background child
    (``server &``) keeps open; so the exit is read from ``returncode`` while the pipe is
    still open, and awaited only once it has closed.
    """
    deadline = time.monotonic() + time_limit
    while process.returncode is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        if reader.done():
            try:
                await asyncio.wait_for(process.wait(), remaining)
            except TimeoutError:
                return True
        else:
            await asyncio.wait({reader}, timeout=min(remaining, _POLL_SECONDS))
    return False


class BashInput(ToolArguments):
    command: str = Field(description="The command line, run with `bash -c`.")
    timeout_seconds: float | None = Field(
        None, gt=0, description="Stop the command after this many seconds."
    )


class Bash:
    spec = ToolSpec(
        name="bash",
        description=(
            "Run a command with `bash -c` in the workspace directory, without a terminal "
            "or input. Output is stdout and stderr interleaved; long output keeps its "
            "beginning and end. The result ends with the exit code. A command that "
            "outlives timeout_seconds is stopped with everything it started; so are "
            "background processes once the command returns (start and use a server "
            "within one command). The command runs in a sandbox: the workspace is the only "
            "writable place besides /tmp, HOME is empty, and secrets are not in the "
            "environment."
        ),
        input_schema=input_schema(BashInput),
    )

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        request = parse_arguments(BashInput, arguments)
        if not request.command.strip():
            raise ToolInputError("The command is empty")
        timeout = request.timeout_seconds or context.bash_timeout
        if timeout > context.bash_timeout:
            raise ToolInputError(
                f"timeout_seconds may be at most {context.bash_timeout:g}; "
                "split the work into shorter commands"
            )
        result = await run_process(
            ["bash", "-c", request.command],
            scope=ProcessScope.of(context),
            time_limit=timeout,
            output_limit=context.output_limit,
        )
        output = result.output if result.output else "(no output)\n"
        if not output.endswith("\n"):
            output += "\n"
        if result.timed_out:
            return ToolOutput(
                f"{output}[timed out after {timeout:g} seconds; the command and everything "
                "it started were stopped. Output so far is shown above]",
                is_error=True,
            )
        return ToolOutput(f"{output}[exit code {result.exit_code}]")
