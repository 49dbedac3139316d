"""What a sandboxed command may see and do: the process-wide policy and one command's scope.

The policy comes from settings and is the same for every command of a process; the
confinement names what one command needs: its workspace (the only writable tree
besides a private ``/tmp``), the git directories a worktree needs, single files such
as a step's output file, whether it may reach the network, and its environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrate.core.settings import SandboxMode, Settings

SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SANDBOX_HOME = "/home/sandbox"

BASE_ENVIRONMENT: Mapping[str, str] = {
    "PATH": SANDBOX_PATH,
    "HOME": SANDBOX_HOME,
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "TMPDIR": "/tmp",  # noqa: S108 (the sandbox's private tmpfs)
    "USER": "sandbox",
    "LOGNAME": "sandbox",
}
"""The whole environment a sandboxed command starts from; callers add what they pass."""


@dataclass(frozen=True)
class SandboxPolicy:
    """How every sandboxed command of this process is confined."""

    mode: SandboxMode = SandboxMode.BUBBLEWRAP
    read_only_paths: tuple[Path, ...] = ()
    path: str = SANDBOX_PATH
    max_processes: int = 512
    max_file_bytes: int = 4 * 1024**3
    max_cpu_seconds: int = 6 * 3600
    network_deny: tuple[str, ...] = ()
    private_paths: tuple[tuple[str, Path], ...] = ()
    """Orchestrate's own places, by what they are ("home", "database"), that no
    sandboxed command may see."""
    """Networks denied to ``network: true`` on top of ``egress.ALWAYS_DENIED``."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxPolicy:
        return cls(
            mode=settings.sandbox,
            read_only_paths=tuple(settings.sandbox_read_only_paths),
            path=settings.sandbox_path,
            max_processes=settings.sandbox_max_processes,
            max_file_bytes=settings.sandbox_max_file_bytes,
            max_cpu_seconds=settings.sandbox_max_cpu_seconds,
            network_deny=tuple(settings.sandbox_network_deny),
            private_paths=_private_paths(settings),
        )

    @property
    def is_confined(self) -> bool:
        return self.mode is not SandboxMode.NONE


@dataclass(frozen=True)
class Confinement:
    """One command's view of the machine.

    ``workspace`` is bound read-write at its own path, so absolute paths (and the
    paths git writes into a worktree's ``.git`` file) mean the same inside and out.
    ``writable_files`` maps a path inside the sandbox to a single host file bound
    read-write there (a step's output file), so nothing of the host path shows;
    ``read_only`` are extra trees it may read. ``env`` is added to
    ``BASE_ENVIRONMENT``; nothing of the caller's own environment is passed.
    """

    workspace: Path
    env: Mapping[str, str] = field(default_factory=dict)
    network: bool = False
    writable_files: Mapping[str, Path] = field(default_factory=dict)
    read_only: tuple[Path, ...] = ()
    start_directory: Path | None = None
    """Where the command starts (inside the workspace); the workspace itself if not given."""

    @property
    def directory(self) -> Path:
        return self.start_directory or self.workspace

    def environment(self, path: str = SANDBOX_PATH) -> dict[str, str]:
        return {**BASE_ENVIRONMENT, "PATH": path, **self.env}


def _private_paths(settings: Settings) -> tuple[tuple[str, Path], ...]:
    """The home (database, key file, logs) and a SQLite database kept elsewhere."""
    paths = [("home", settings.home)]
    url = settings.database_url_value
    if url.startswith("sqlite") and ":///" in url:
        database = url.split(":///", 1)[1].split("?", 1)[0]
        if database and database != ":memory:":
            paths.append(("database", Path(database)))
    return tuple(paths)
