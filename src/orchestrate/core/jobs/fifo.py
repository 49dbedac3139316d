"""Cross-process wake-ups for SQLite through named pipes, at no cost while idle.

SQLite has no LISTEN/NOTIFY. Each idle worker process owns a FIFO in a directory next
to the database file (``orchestrate.db.wake/``) and waits on it with the event loop;
after committing new jobs, an enqueuing process writes one byte into every FIFO there.
Opening a FIFO nobody reads fails with ``ENXIO``: that pipe belonged to a worker that
died, and is removed. Writes never block; a full pipe already holds a pending wake-up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

_SUFFIX = ".fifo"


def wake_dir_for(database_path: str) -> Path:
    path = Path(database_path)
    return path.with_name(path.name + ".wake")


def notify_listeners(directory: Path, *, skip_own: bool = False) -> int:
    """Wake every worker waiting on this database; returns how many were reached.

    ``skip_own`` leaves out this process's own pipes: the enqueuer wakes its own
    runners directly (``signals.wake_local_runners``), and a byte in its own pipe
    would only make them claim a second time and find nothing.
    """
    own = f"{os.getpid()}-"
    try:
        candidates = [
            p
            for p in directory.iterdir()
            if p.name.endswith(_SUFFIX) and not (skip_own and p.name.startswith(own))
        ]
    except FileNotFoundError:
        return 0
    reached = 0
    for path in candidates:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ENXIO:  # no reader: its worker is gone
                with contextlib.suppress(OSError):
                    path.unlink()
            continue
        try:
            os.write(descriptor, b"!")
            reached += 1
        except BlockingIOError:
            reached += 1  # the pipe is full of earlier wake-ups; one is enough
        except OSError:
            pass
        finally:
            os.close(descriptor)
    return reached


class FifoListener:
    """This process's named pipe; readable whenever someone enqueued work."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{os.getpid()}-{secrets.token_hex(4)}{_SUFFIX}"
        os.mkfifo(self.path, 0o600)
        self._reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        # Holding a writer open ourselves keeps the reader from seeing end-of-file
        # (and waking in a busy loop) whenever an enqueuer closes its end.
        self._keepalive = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)

    def fileno(self) -> int:
        return self._reader

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._reader, 4096):
                pass

    def close(self) -> None:
        for descriptor in (self._reader, self._keepalive):
            with contextlib.suppress(OSError):
                os.close(descriptor)
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(self.path.lstat().st_mode):
                self.path.unlink()
