"""The process limit for root: a pids cgroup per sandboxed command.

``RLIMIT_NPROC`` (set by ``prlimit`` inside the sandbox) bounds the processes of a
user, but the kernel never applies it to the host's root: a server running as root
(a container, a CI machine) would let a fork bomb through. There, each command gets
its own cgroup in the ``pids`` controller (cgroup v1 ``/sys/fs/cgroup/pids`` or a
cgroup v2 hierarchy with ``pids`` enabled) with ``pids.max`` set; a tiny ``sh``
moves itself into it before it ``exec``s bubblewrap, so every process of the sandbox
is counted from the first. Removing the cgroup afterwards also ends any straggler.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

_V1_ROOT = Path("/sys/fs/cgroup/pids")
_V2_ROOT = Path("/sys/fs/cgroup")
_PARENT_NAME = "orchestrate-sandbox"
_ENTER = 'echo $$ > "$0" && exec "$@"'


@dataclass(frozen=True)
class PidsCgroup:
    """One command's cgroup: created before it starts, removed after it ends."""

    path: Path

    @classmethod
    def create(cls, max_processes: int) -> PidsCgroup | None:
        """A new cgroup limited to ``max_processes``, or None where none can be made."""
        parent = _parent_directory()
        if parent is None:
            return None
        path = parent / uuid.uuid4().hex
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_processes))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started by a shell that first joins this cgroup."""
        return ["/bin/sh", "-c", _ENTER, str(self.path / "cgroup.procs"), *argv]

    def remove(self) -> None:
        """End whatever still runs in the cgroup, then remove it."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                self._kill_members()
        # Members stuck in the kernel: leave the empty-to-be cgroup behind rather than hang.

    def _kill_members(self) -> None:
        try:
            members = (self.path / "cgroup.procs").read_text().split()
        except OSError:
            return
        for member in members:
            with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
                os.kill(int(member), signal.SIGKILL)


def pids_cgroups_available() -> bool:
    """Whether per-command pids cgroups can be made here (checked once per process)."""
    return _parent_directory() is not None


def needs_pids_cgroup() -> bool:
    """Only root escapes ``RLIMIT_NPROC``; everyone else is bounded by ``prlimit``."""
    return os.geteuid() == 0


@functools.cache
def _parent_directory() -> Path | None:
    for root in (_V1_ROOT, _v2_own_cgroup()):
        if root is None or not (root / "cgroup.procs").exists():
            continue
        if root == _V1_ROOT or "pids" in _read(root / "cgroup.subtree_control"):
            parent = root / _PARENT_NAME
            try:
                parent.mkdir(exist_ok=True)
                if root != _V1_ROOT:  # v2: a child gets pids.max only if enabled here
                    (parent / "cgroup.subtree_control").write_text("+pids")
            except OSError:
                continue
            if (parent / "pids.max").exists():
                return parent
    return None


def _v2_own_cgroup() -> Path | None:
    if not (_V2_ROOT / "cgroup.controllers").exists():
        return None
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        if line.startswith("0::"):
            return _V2_ROOT / line.removeprefix("0::").lstrip("/")
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
