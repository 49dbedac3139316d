"""Running a ``run:`` step: bash in its own process group, logged, timed, cancellable.

The command runs as GitHub Actions runs it (``bash --noprofile --norc -eo pipefail``)
in a new session, so a timeout or a cancellation can end the whole tree it started:
SIGTERM to the group, then SIGKILL after a grace period. The group id is written next
to the log so that a worker taking over after a crash can end an orphaned command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.masking import Masker

LogSink = Callable[[list[str]], Awaitable[None]]
CancelCheck = Callable[[], Awaitable[bool]]

_READ_CHUNK = 64 * 1024
_FLUSH_SECONDS = 0.5
_CANCEL_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ShellCommand:
    script: str
    env: dict[str, str]
    cwd: Path
    timeout: float
    kill_grace: float
    log_path: Path
    network: bool = False
    """Outbound network for the step (``network: true``); none by default."""
    masker: Masker | None = None
    """Hides secret values in the log and the log events; ``::add-mask::`` lines add to it."""


@dataclass(frozen=True)
class ShellResult:
    exit_code: int | None
    timed_out: bool = False
    cancelled: bool = False

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.cancelled


def pid_file(log_path: Path) -> Path:
    return log_path.with_suffix(".pid")


def end_orphan(log_path: Path) -> bool:
    """End the process group a crashed worker left running for this step (same host only)."""
    path = pid_file(log_path)
    try:
        host, pgid_text = path.read_text().split()
        pgid = int(pgid_text)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
        return True
    return False


async def run_shell(
    command: ShellCommand, on_log: LogSink, should_cancel: CancelCheck
) -> ShellResult:
    """Run the command to the end, the timeout, or a cancellation, whichever comes first."""
    command.log_path.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        "bash",
        "--noprofile",
        "--norc",
        "-eo",
        "pipefail",
        "-c",
        command.script,
        cwd=command.cwd,
        env=command.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file(command.log_path).write_text(f"{socket.gethostname()} {process.pid}\n")
    reader = asyncio.create_task(_pump(process, command.log_path, on_log))
    try:
        outcome = await _supervise(process, command, should_cancel)
    finally:
        if process.returncode is None:
            await _end_group(process, command.kill_grace)
        # Like GitHub's runner, end orphans the command left behind (``server &``): they
        # would otherwise hold the output pipe open and the step would never finish.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await reader
        pid_file(command.log_path).unlink(missing_ok=True)
    return outcome


async def _supervise(
    process: asyncio.subprocess.Process, command: ShellCommand, should_cancel: CancelCheck
) -> ShellResult:
    deadline = time.monotonic() + command.timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            await _end_group(process, command.kill_grace)
            return ShellResult(process.returncode, timed_out=True)
        try:
            code = await asyncio.wait_for(process.wait(), min(remaining, _CANCEL_POLL_SECONDS))
            return ShellResult(code)
        except TimeoutError:
            pass
        if await should_cancel():
            await _end_group(process, command.kill_grace)
            return ShellResult(process.returncode, cancelled=True)


async def _end_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the whole group, then SIGKILL whatever is left after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


async def _pump(process: asyncio.subprocess.Process, log_path: Path, on_log: LogSink) -> None:
    """Copy output to the log file as it comes; hand complete lines to ``on_log`` in batches."""
    assert process.stdout is not None
    pending = ""
    batch: list[str] = []
    last_flush = time.monotonic()
    with log_path.open("a", encoding="utf-8", errors="replace") as log:
        while chunk := await process.stdout.read(_READ_CHUNK):
            text = chunk.decode(errors="replace")
            log.write(text)
            log.flush()
            pending += text
            *lines, pending = pending.split("\n")
            batch.extend(lines)
            if batch and time.monotonic() - last_flush >= _FLUSH_SECONDS:
                await on_log(batch)
                batch, last_flush = [], time.monotonic()
    if pending:
        batch.append(pending)
    if batch:
        await on_log(batch)
