"""Ending a command's whole process group: SIGTERM, a grace period, then SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import time

from orchestrate.core.process_group import signal_group, terminate_group
from tests.support import sleeping_processes


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
    process = await start_group("sleep 60.201 & wait")
    await wait_until_running("60.201")
    started = time.monotonic()

    await terminate_group(process.pid, grace=5)

    assert time.monotonic() - started < 2
    assert not sleeping_processes("60.201")
    await process.wait()


async def test_a_member_ignoring_sigterm_is_killed_after_the_grace() -> None:
    # An ignored signal stays ignored across exec: the sleep ignores SIGTERM too.
    process = await start_group("trap '' TERM; sleep 60.202 & wait")
    await wait_until_running("60.202")
    started = time.monotonic()

    await terminate_group(process.pid, grace=0.5)

    assert 0.5 <= time.monotonic() - started < 3
    assert not sleeping_processes("60.202")
    await process.wait()


async def test_members_left_behind_by_a_leader_that_exited_are_ended() -> None:
    process = await start_group("sleep 60.203 &")
    await process.wait()
    await wait_until_running("60.203")

    await terminate_group(process.pid, grace=5)

    assert not sleeping_processes("60.203")


async def test_a_group_with_no_member_left_cannot_be_signalled() -> None:
    process = await start_group("true")
    await process.wait()

    assert not signal_group(process.pid, signal.SIGTERM)
    await terminate_group(process.pid, grace=5)  # returns at once, nothing to end
