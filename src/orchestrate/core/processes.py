"""Starting a program without copying the worker: vfork/posix_spawn, awaited by pidfd.

``orchestrate worker`` runs on uvloop, whose ``create_subprocess_exec`` forks: the
kernel copies the page tables of the whole ~90 MB worker while the event loop waits,
5.7 ms per start against 1.0 ms through the standard library's ``subprocess.Popen``,
which uses ``vfork`` (``bench/pipelines.py``; measured with the worker's modules
loaded). Every pipeline ``run`` step and every agent ``bash`` call starts a process, so
this module starts them with ``Popen`` in a thread (``vfork`` suspends the calling
thread until the child has exec'd, and that thread is not the event loop's), reads
their output through the loop, and learns of their exit from a ``pidfd`` the loop
watches (a thread waiting per process where the system has no pidfds).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

_STREAM_LIMIT = 2**16
"""Bytes a line may have in the output reader (asyncio's default for subprocesses)."""


class ChildProcess:
    """A started program: what the sandbox's callers use of ``asyncio.subprocess.Process``.

    Its exit is noticed by the event loop as it happens (``returncode`` is set without
    anyone awaiting ``wait``), as with asyncio's own processes.
    """

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None = None,
    ):
        self._popen = popen
        self.stdout = stdout
        self.stderr = stderr
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._pidfd: int | None = None
        self._watch_exit()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        """The exit code, once the program has ended (signals as negative numbers)."""
        return await asyncio.shield(self._exited)

    async def communicate(self) -> tuple[bytes, bytes]:
        """Read the piped output and error to their ends, then wait for the exit."""
        out, err = await asyncio.gather(_read_all(self.stdout), _read_all(self.stderr))
        await self.wait()
        return out, err

    def send_signal(self, signum: int) -> None:
        if self._popen.returncode is None:
            os.kill(self._popen.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _watch_exit(self) -> None:
        try:
            self._pidfd = os.pidfd_open(self._popen.pid)
        except (AttributeError, OSError):  # no pidfds here (macOS, old Linux)
            waiting = self._loop.run_in_executor(None, self._popen.wait)
            waiting.add_done_callback(lambda _done: self._reaped())
            return
        self._loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        """The pidfd turned readable: the program has ended; reap it."""
        if self._popen.poll() is None:
            return  # not yet reapable (cannot happen with a pidfd, but costs nothing)
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        self._reaped()

    def _reaped(self) -> None:
        code = self._popen.returncode
        if code is not None and not self._exited.done():
            self._exited.set_result(code)


async def start_process(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: dict[str, str],
    stdout: int,
    stderr: int,
    pass_fds: tuple[int, ...] = (),
) -> ChildProcess:
    """Start ``argv`` in a new session with stdin from ``/dev/null`` (``cwd`` None: here).

    ``stdout`` and ``stderr`` take asyncio's (and ``subprocess``'s) ``PIPE``,
    ``STDOUT`` and ``DEVNULL`` or a file descriptor; with ``PIPE`` the output is read
    through ``ChildProcess.stdout`` (``stderr``). A cancellation while the program starts still
    leaves no process behind: it is stopped before ``CancelledError`` goes on.
    """
    loop = asyncio.get_running_loop()
    starting = loop.run_in_executor(
        None,
        lambda: subprocess.Popen(  # noqa: S603 - an argument vector the caller built
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            pass_fds=pass_fds,
        ),
    )
    try:
        popen = await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(OSError):
            started = await starting
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(started.pid, signal.SIGKILL)
            await loop.run_in_executor(None, started.wait)
            for pipe in (started.stdout, started.stderr):
                if pipe is not None:
                    pipe.close()
        raise
    return ChildProcess(popen, await _reader(popen.stdout), await _reader(popen.stderr))


async def _reader(pipe: IO[bytes] | None) -> asyncio.StreamReader | None:
    """A stream reading ``pipe`` through the event loop (None without a pipe)."""
    if pipe is None:
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_STREAM_LIMIT, loop=loop)
    await loop.connect_read_pipe(lambda: _PipeReader(reader, pipe), pipe)
    return reader


async def _read_all(reader: asyncio.StreamReader | None) -> bytes:
    return b"" if reader is None else await reader.read()


class _PipeReader(asyncio.StreamReaderProtocol):
    """Feeds a ``StreamReader`` and closes the pipe at its end. asyncio's read-pipe
    transport closes itself at end of file; uvloop's keeps the pipe open as long as
    ``eof_received`` says so, which ``StreamReaderProtocol`` (made for sockets) does."""

    def __init__(self, reader: asyncio.StreamReader, pipe: IO[bytes]) -> None:
        super().__init__(reader)
        self._pipe = pipe

    def eof_received(self) -> bool:
        super().eof_received()
        return False  # nothing more will come: close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._pipe.close()
