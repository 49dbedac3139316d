"""Ending a command's whole process group: SIGTERM, a grace period, then SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from orchestrate.core.process_group import signal_group, terminate_group
from tests.support import sleeping_processes

# The sleeps outlast any test, with durations no other test uses. HANG_GUARD only turns
# a regression into a failure instead of a hang; it measures nothing.
HANG_GUARD = 60
NEVER = 3600  # a grace that no passing test waits out

# A leader that notes SIGTERM in a file and carries on, with a member that ignores it.
STUBBORN_LEADER = """
import pathlib, signal, subprocess, time
signal.signal(signal.SIGTERM, lambda *_: pathlib.Path("got-sigterm").touch())
ignore_sigterm = lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen(["sleep", "3600.302"], preexec_fn=ignore_sigterm)
while True:
    time.sleep(1)
"""


async def start_group(script: str) -> asyncio.subprocess.Process:
    """``script`` in a new session, as steps and tools start commands."""
    return await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        stdout=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_until_running(seconds: str) -> None:
    for _ in range(200):
        if sleeping_processes(seconds):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"sleep {seconds} never started")


async def test_a_group_that_obeys_sigterm_ends_without_waiting_for_the_grace() -> None:
    process = await start_group("sleep 3600.301 & wait")
    await wait_until_running("3600.301")

    # Returning at all, with a grace of an hour, means it did not wait the grace out.
    await asyncio.wait_for(terminate_group(process.pid, grace=NEVER), HANG_GUARD)

    assert not sleeping_processes("3600.301")
    assert await process.wait() == -signal.SIGTERM


async def test_a_member_ignoring_sigterm_gets_sigterm_first_then_sigkill(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STUBBORN_LEADER, cwd=tmp_path, start_new_session=True
    )
    await wait_until_running("3600.302")

    await asyncio.wait_for(terminate_group(process.pid, grace=1), HANG_GUARD)

    assert (tmp_path / "got-sigterm").exists(), "SIGKILL came before the leader saw SIGTERM"
    assert await process.wait() == -signal.SIGKILL
    assert not sleeping_processes("3600.302")


async def test_members_left_behind_by_a_leader_that_exited_are_ended() -> None:
    process = await start_group("sleep 3600.303 &")
    await process.wait()
    await wait_until_running("3600.303")

    await asyncio.wait_for(terminate_group(process.pid, grace=NEVER), HANG_GUARD)

    assert not sleeping_processes("3600.303")


async def test_a_group_with_no_member_left_cannot_be_signalled() -> None:
    process = await start_group("true")
    await process.wait()

    assert not signal_group(process.pid, signal.SIGTERM)
    await terminate_group(process.pid, grace=5)  # returns at once, nothing to end
