"""Confinement for every process Orchestrate starts on a model's or a pipeline's behalf.

Agent ``bash``, every ``git`` the agent tools run, and pipeline ``run`` steps start
through ``spawn``: inside bubblewrap with their workspace as the only writable tree,
no host ``/proc``, an empty ``$HOME``, a minimal environment, resource limits, and no
network unless asked for. See docs/sandbox.md.
"""

from orchestrate.core.processes import ChildProcess
from orchestrate.core.sandbox.check import UNCONFINED_WARNING, require_sandbox, sandbox_warning
from orchestrate.core.sandbox.launch import SandboxedProcess, spawn
from orchestrate.core.sandbox.policy import (
    BASE_ENVIRONMENT,
    SANDBOX_HOME,
    SANDBOX_PATH,
    Confinement,
    SandboxPolicy,
)

__all__ = [
    "BASE_ENVIRONMENT",
    "SANDBOX_HOME",
    "SANDBOX_PATH",
    "UNCONFINED_WARNING",
    "ChildProcess",
    "Confinement",
    "SandboxPolicy",
    "SandboxedProcess",
    "require_sandbox",
    "sandbox_warning",
    "spawn",
]
