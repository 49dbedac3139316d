"""Refuse to start when the sandbox is wanted but cannot work: never a silent fallback.

``serve``, ``worker`` and ``agent start`` call ``require_sandbox`` first. It runs one
real confined ``true``, so a missing ``bwrap``, a kernel without unprivileged user
namespaces or a container that forbids them all fail here, with one line saying
what to install or set, instead of at the first agent command.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import structlog

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.sandbox.bubblewrap import BWRAP, PRLIMIT, bubblewrap_argv, visible_trees
from orchestrate.core.sandbox.pids import needs_pids_cgroup, pids_cgroups_available
from orchestrate.core.sandbox.policy import Confinement, SandboxPolicy

log = structlog.get_logger(__name__)

UNCONFINED_WARNING = (
    "sandbox is 'none': agent bash, agent git and pipeline run steps run unconfined, "
    "with this user's files, network and environment; use it only on a machine that "
    "runs nothing else (ORCHESTRATE_SANDBOX=bubblewrap confines them)"
)
_CHECK_SECONDS = 20.0
_checked: set[SandboxPolicy] = set()


def sandbox_warning(policy: SandboxPolicy) -> str | None:
    """The warning to show wherever the configuration is shown, if there is one."""
    return None if policy.is_confined else UNCONFINED_WARNING


def _require_private_paths_hidden(policy: SandboxPolicy) -> None:
    """Refuse a home or database inside a tree the sandbox shows (``/opt``, ``/usr``…)."""
    for what, private in policy.private_paths:
        resolved = private.resolve()
        for tree in visible_trees(policy):
            if resolved.is_relative_to(tree):
                raise ConfigurationError(
                    f"Orchestrate's {what} {resolved} lies inside "
                    f"{tree}, which every sandboxed command can read: move it out (set "
                    "ORCHESTRATE_HOME or ORCHESTRATE_DATABASE_URL) or remove that directory "
                    "from ORCHESTRATE_SANDBOX_READ_ONLY_PATHS"
                )


def require_sandbox(policy: SandboxPolicy) -> None:
    """Raise ``ConfigurationError`` unless confined commands can really start here."""
    if not policy.is_confined or policy in _checked:
        return
    if shutil.which(BWRAP) is None:
        raise ConfigurationError(
            "The sandbox needs bubblewrap, which is not installed: install it "
            "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
            "or set ORCHESTRATE_SANDBOX=none to run agents and steps unconfined"
        )
    if not Path(PRLIMIT).exists():
        raise ConfigurationError(
            f"The sandbox sets resource limits with {PRLIMIT}, which is missing: install "
            "util-linux, or set ORCHESTRATE_SANDBOX=none"
        )
    _require_private_paths_hidden(policy)
    with tempfile.TemporaryDirectory(prefix="orchestrate-sandbox-check-") as workspace:
        argv = bubblewrap_argv(policy, Confinement(Path(workspace)), ["true"])
        try:
            result = subprocess.run(  # noqa: S603 (our own fixed argv)
                argv, capture_output=True, text=True, timeout=_CHECK_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ConfigurationError(f"bubblewrap could not start a sandbox: {error}") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigurationError(
            f"bubblewrap cannot create a sandbox here ({reason}): allow unprivileged user "
            "namespaces (sysctl kernel.unprivileged_userns_clone=1, or in a container "
            "run it with user namespaces allowed), or set ORCHESTRATE_SANDBOX=none"
        )
    if needs_pids_cgroup() and not pids_cgroups_available():
        log.warning(
            "sandbox_process_limit_unavailable",
            detail="running as root, where RLIMIT_NPROC does not apply, and no pids cgroup "
            "can be made: sandboxed commands have no process limit. Run Orchestrate as an "
            "ordinary user, or give it a writable pids cgroup",
        )
    _checked.add(policy)
