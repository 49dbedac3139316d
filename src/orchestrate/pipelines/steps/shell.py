"""Running a ``run:`` step: bash in the sandbox, in its own process group, logged, timed.

The command runs as GitHub Actions runs it (``bash --noprofile --norc -eo pipefail``)
inside the sandbox (``orchestrate.core.sandbox``): the run's workspace and the step's
output file are all it can write, and it sees no network unless the step says
``network: true``. It starts in a new session, so a timeout or a cancellation can end
the whole tree it started: SIGTERM to the group, then SIGKILL after a grace period.

The group id is written next to the log with the process's start time and the
machine's boot id, so a worker taking over after a crash ends the orphaned command
only when that id still names the very process it started, never a recycled one.

Output is masked line by line before it reaches the log file or the log events:
every known secret becomes ``***``, and a line ``::add-mask::VALUE`` registers
``VALUE`` as secret for the rest of the step without being logged itself.
"""

from __future__ import annotations

import asyncio
import codecs
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from orchestrate.core.masking import ADD_MASK_PREFIX, Masker
from orchestrate.core.process_group import signal_group, terminate_group
from orchestrate.core.sandbox import ChildProcess, Confinement, SandboxPolicy, spawn

LogSink = Callable[[list[str]], Awaitable[None]]
CancelCheck = Callable[[], Awaitable[bool]]

_READ_CHUNK = 64 * 1024
_FLUSH_SECONDS = 0.5
_CANCEL_POLL_SECONDS = 1.0
OUTPUT_FILE_INSIDE = "/run/orchestrate/output"
"""Where a sandboxed step finds its ``$ORCHESTRATE_OUTPUT``."""
_LONGEST_LINE = 64 * 1024
"""A line longer than this is logged in pieces, never cut inside a secret."""


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
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)
    workspace: Path | None = None
    """The run's workspace, writable in the sandbox; ``cwd`` when not given."""
    output_file: Path | None = None
    """The step's ``$ORCHESTRATE_OUTPUT``, the one file outside the workspace it may write."""


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
    """End the process group a crashed worker left running for this step, if provably ours.

    The pid file names the host, the boot, the group leader's pid and its start time;
    the group is killed only if a process with that pid still runs on this host since
    the same boot and started at the same tick, so a recycled pid is never signalled.
    """
    path = pid_file(log_path)
    try:
        host, boot, pid_text, started_text = path.read_text().split()
        pid, started = int(pid_text), int(started_text)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname() or boot != _boot_id():
        return False
    if _start_time(pid) != started:
        return False
    return signal_group(pid, signal.SIGKILL)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of its stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 else None


def _record_group(log_path: Path, pid: int) -> None:
    started = _start_time(pid)
    if started is None:  # already gone, or no procfs: nothing can be proven later
        return
    pid_file(log_path).write_text(f"{socket.gethostname()} {_boot_id()} {pid} {started}\n")


async def run_shell(
    command: ShellCommand, on_log: LogSink, should_cancel: CancelCheck
) -> ShellResult:
    """Run the command to the end, the timeout, or a cancellation, whichever comes first."""
    command.log_path.parent.mkdir(parents=True, exist_ok=True)
    sandboxed = await spawn(
        command.sandbox,
        _confinement(command),
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command.script],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    process = sandboxed.process
    _record_group(command.log_path, process.pid)
    masker = command.masker or Masker()
    reader = asyncio.create_task(_pump(process, command.log_path, on_log, masker))
    try:
        outcome = await _supervise(process, command, should_cancel)
    finally:
        if process.returncode is None:
            await _end_group(process, command.kill_grace)
        # Like GitHub's runner, end orphans the command left behind (``server &``): they
        # would otherwise hold the output pipe open and the step would never finish.
        signal_group(process.pid, signal.SIGKILL)
        await reader
        await sandboxed.close()
        pid_file(command.log_path).unlink(missing_ok=True)
    return outcome


def _confinement(command: ShellCommand) -> Confinement:
    workspace = (command.workspace or command.cwd).resolve()
    env = dict(command.env)
    writable: dict[str, Path] = {}
    if command.output_file is not None and command.sandbox.is_confined:
        # Bound at a fixed place: the host path would show the layout of the home.
        writable[OUTPUT_FILE_INSIDE] = command.output_file.resolve()
        env["ORCHESTRATE_OUTPUT"] = OUTPUT_FILE_INSIDE
    return Confinement(
        workspace=workspace,
        env=env,
        network=command.network,
        writable_files=writable,
        start_directory=command.cwd.resolve(),
    )


async def _supervise(
    process: ChildProcess, command: ShellCommand, should_cancel: CancelCheck
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


async def _end_group(process: ChildProcess, grace: float) -> None:
    """End the command's whole group, then reap the leader so its exit code is known."""
    await terminate_group(process.pid, grace)
    await process.wait()


async def _pump(process: ChildProcess, log_path: Path, on_log: LogSink, masker: Masker) -> None:
    """Copy masked output to the log file as it comes; hand lines to ``on_log`` in batches.

    Only complete lines are masked and written, so a secret split across two reads
    is still found whole (``_Lines`` says how characters and endless lines are kept).
    """
    assert process.stdout is not None
    lines = _Lines(masker)
    batch: list[str] = []
    last_flush = time.monotonic()
    with log_path.open("a", encoding="utf-8", errors="replace") as log:
        while chunk := await process.stdout.read(_READ_CHUNK):
            batch.extend(_write_lines(log, lines.feed(chunk), masker))
            # After the complete lines: an ``::add-mask::`` among them counts for the cut.
            batch.extend(_write_lines(log, lines.overlong_piece(), masker))
            if batch and time.monotonic() - last_flush >= _FLUSH_SECONDS:
                await on_log(batch)
                batch, last_flush = [], time.monotonic()
        batch.extend(_write_lines(log, lines.feed(b"", final=True), masker))
        if lines.pending:
            batch.extend(_write_lines(log, [lines.pending], masker, final=True))
    if batch:
        await on_log(batch)


class _Lines:
    """A byte stream decoded as it arrives and split into lines.

    The decoder is incremental, so a character whose bytes arrive in two reads is
    decoded whole, never as two replacement characters. A line with no end in sight is
    given out in pieces once longer than ``_LONGEST_LINE``, cut where the masker says a
    cut cannot split a secret: its possible start stays behind with the rest.
    """

    def __init__(self, masker: Masker) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._masker = masker
        self.pending = ""
        """The line begun but not ended yet."""

    def feed(self, chunk: bytes, *, final: bool = False) -> list[str]:
        """The lines ``chunk`` completes; ``final`` at the end of the stream."""
        *ended, rest = self._decoder.decode(chunk, final=final).split("\n")
        if not ended:
            self.pending += rest
            return []
        ended[0] = self.pending + ended[0]
        self.pending = rest
        return ended

    def overlong_piece(self) -> list[str]:
        """The safe start of the unfinished line when it has grown too long, else nothing."""
        if len(self.pending) <= _LONGEST_LINE:
            return []
        cut = self._masker.safe_cut(self.pending)
        piece, self.pending = self.pending[:cut], self.pending[cut:]
        return [piece] if piece else []


def _write_lines(
    log: TextIO, lines: list[str], masker: Masker, *, final: bool = False
) -> list[str]:
    """Mask ``lines``, register ``::add-mask::`` values, write the rest; return what was kept."""
    kept = []
    for line in lines:
        if line.startswith(ADD_MASK_PREFIX):
            masker.add(line.removeprefix(ADD_MASK_PREFIX).rstrip("\r"))
            continue
        kept.append(masker.mask(line))
    if kept:
        text = "\n".join(kept) + ("" if final else "\n")
        log.write(text)
        log.flush()
    return kept
