"""Processes started without copying the worker (vfork), on asyncio's loop and uvloop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from orchestrate.core.processes import start_process

LOOPS: dict[str, Callable[[Coroutine[Any, Any, None]], None]] = {
    "asyncio": asyncio.run,
    "uvloop": uvloop.run,
}


def on_each_loop(check: Callable[[Path], Coroutine[Any, Any, None]], tmp_path: Path) -> None:
    for name, run in LOOPS.items():
        folder = tmp_path / name
        folder.mkdir()
        run(check(folder))


def env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def test_output_and_exit_code_come_back(tmp_path: Path) -> None:
    async def check(folder: Path) -> None:
        process = await start_process(
            ["bash", "-c", "echo out; echo err >&2; pwd; exit 3"],
            cwd=folder,
            env=env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        output = await process.stdout.read()
        assert await process.wait() == 3
        assert output.decode().splitlines() == ["out", "err", str(folder)]

    on_each_loop(check, tmp_path)


def test_the_exit_is_noticed_without_anyone_waiting(tmp_path: Path) -> None:
    """Callers poll ``returncode`` while they read the output (a background child may
    keep the pipe open), so the loop must set it when the program ends."""

    async def check(folder: Path) -> None:
        process = await start_process(
            ["true"], cwd=folder, env=env(), stdout=asyncio.subprocess.DEVNULL, stderr=-3
        )
        for _ in range(200):
            if process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        assert process.returncode == 0

    on_each_loop(check, tmp_path)


def test_a_signal_shows_as_a_negative_exit_code_and_the_program_has_its_own_session(
    tmp_path: Path,
) -> None:
    async def check(folder: Path) -> None:
        process = await start_process(["sleep", "30"], cwd=folder, env=env(), stdout=-3, stderr=-3)
        assert os.getsid(process.pid) == process.pid
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == -signal.SIGTERM

    on_each_loop(check, tmp_path)


def test_cancelled_while_starting_leaves_no_process_behind(tmp_path: Path) -> None:
    marker = tmp_path / "pid"

    async def check(folder: Path) -> None:
        script = f"echo $$ > {marker}; exec sleep 30"
        starting = asyncio.ensure_future(
            start_process(["bash", "-c", script], cwd=folder, env=env(), stdout=-3, stderr=-3)
        )
        await asyncio.sleep(0)  # the start is under way in its thread
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting

    asyncio.run(check(tmp_path))
    if marker.exists():  # it had started: it must be gone
        # bash creates the file before it writes the pid: give the write a moment
        deadline = time.monotonic() + 2
        while not marker.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = int(marker.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_program_that_does_not_exist_raises_the_os_error(tmp_path: Path) -> None:
    async def check(folder: Path) -> None:
        with pytest.raises(FileNotFoundError):
            await start_process(
                ["no-such-program-here"], cwd=folder, env=env(), stdout=-3, stderr=-3
            )

    on_each_loop(check, tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="pidfds are Linux's")
def test_no_descriptor_is_left_open_once_the_program_has_ended(tmp_path: Path) -> None:
    async def check(folder: Path) -> None:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(20):
            process = await start_process(
                ["true"], cwd=folder, env=env(), stdout=asyncio.subprocess.PIPE, stderr=-2
            )
            assert process.stdout is not None
            await process.stdout.read()
            await process.wait()
        await asyncio.sleep(0.05)
        assert len(os.listdir("/proc/self/fd")) <= before + 1

    on_each_loop(check, tmp_path)


def test_communicate_reads_output_and_errors_apart(tmp_path: Path) -> None:
    async def check(folder: Path) -> None:
        process = await start_process(
            ["bash", "-c", "echo out; echo err >&2; exit 1"],
            cwd=None,
            env=env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert await process.communicate() == (b"out\n", b"err\n")
        assert process.returncode == 1

    on_each_loop(check, tmp_path)
