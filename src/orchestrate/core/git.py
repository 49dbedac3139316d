"""The host's git, run for Orchestrate's own work: worktrees, clones, pushes.

Not the git an agent runs (that one is sandboxed, ``agents/tools``): this is the git the
worker itself runs on repositories it manages, so it takes care that nothing of the
repository or of the caller's environment steers it. No hook of the repository runs
(``core.hooksPath=/dev/null``), git never prompts (a command needing a password fails
instead of hanging a server), git's location variables (``GIT_DIR``…) of the worker's
environment are dropped, and a command past its time limit is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import ConfigurationError, IntegrationError
from orchestrate.core.processes import start_process

GIT_LOCATION_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
    }
)
"""Variables that would point git at another repository than the one named."""


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def message(self) -> str:
        """What git said went wrong (its error output, else its output, else the code)."""
        return self.stderr.strip() or self.stdout.strip() or f"exit code {self.returncode}"


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment without git's location variables, never prompting and
    taking no optional locks (reading status must not rewrite a user's index)."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in GIT_LOCATION_VARIABLES}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    env.update(extra or {})
    return env


async def run_git(
    *args: str,
    cwd: Path | None = None,
    time_limit: float,
    env: Mapping[str, str] | None = None,
) -> GitResult:
    """Run ``git [-C cwd] ARGS`` and return what it said; never raises on git's own failure.

    Raises ``ConfigurationError`` when git is not installed and ``IntegrationError``
    when it ran past ``time_limit`` seconds (it is killed). ``env`` is the whole
    environment (default: ``git_environment()``).
    """
    location = ("-C", str(cwd)) if cwd is not None else ()
    try:
        # Started with vfork, not a fork of the worker (``core.processes``).
        process = await start_process(
            ("git", *location, "-c", "core.hooksPath=/dev/null", *args),
            cwd=None,
            env=dict(env) if env is not None else git_environment(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise ConfigurationError("git is not installed or not on PATH; install git") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), time_limit)
    except (TimeoutError, asyncio.CancelledError) as error:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # git and whatever it started
        await process.wait()
        if isinstance(error, asyncio.CancelledError):
            raise
        where = f" in {cwd}" if cwd is not None else ""
        raise IntegrationError(
            f"git {args[0]}{where} took longer than {time_limit:g} s and was stopped",
            command=args[0],
        ) from None
    return GitResult(
        process.returncode or 0, stdout.decode(errors="replace"), stderr.decode(errors="replace")
    )
