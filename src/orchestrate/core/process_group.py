"""Ending a command together with everything it started.

Pipeline steps and agent tools start each command in its own session
(``start_new_session``), so its pid is also the id of a process group holding every
process the command started: a test server in the background, a ``sleep`` in a
pipeline. Signalling only the leader would leave those running and holding the output
pipe open. So a timeout or a cancellation ends the whole group: SIGTERM to let it
clean up, a grace period, then SIGKILL for whatever ignored the request.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

_POLL_SECONDS = 0.02


async def terminate_group(group: int, grace: float) -> None:
    """SIGTERM the process group ``group``, SIGKILL what is left after ``grace`` seconds.

    ``group`` is the pid of a leader started in a new session; it stays a valid group
    id after the leader exited while other members live on. Returns once no member
    runs, or after a further ``grace`` when the killed group is slow to go.
    """
    if not signal_group(group, signal.SIGTERM):
        return
    if await _group_ended(group, grace):
        return
    signal_group(group, signal.SIGKILL)
    # Delivery is asynchronous; on a loaded machine the group may take a moment to die.
    await _group_ended(group, grace)


def signal_group(group: int, signal_number: int) -> bool:
    """Send a signal to a group; ``False`` when no member is left to receive it."""
    try:
        os.killpg(group, signal_number)
    except ProcessLookupError:
        return False
    except PermissionError:  # only zombies remain, or the id was reused: nothing to stop
        return False
    return True


async def _group_ended(group: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while _group_is_alive(group):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True


def _group_is_alive(group: int) -> bool:
    """Whether a member of the group still runs; zombies do not count.

    Orphans are reaped by PID 1, and in a container PID 1 may never do so: a signal
    alone would then report the group alive until the grace ran out.
    """
    if not signal_group(group, 0):
        return False
    try:
        entries = [entry.name for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:  # no procfs (macOS): trust the signal
        return True
    for pid in entries:
        try:
            stat = Path("/proc", pid, "stat").read_text()
        except OSError:
            continue
        state, _parent, process_group = stat[stat.rfind(")") + 2 :].split()[:3]
        if int(process_group) == group and state != "Z":
            return True
    return False
