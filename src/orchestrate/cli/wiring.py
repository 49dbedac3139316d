"""What commands get from the application around them, without importing it.

A command that opens a runtime runs the hooks every process runs once its runtime is
open (loading the secret masker), ``--wait`` runs every capability's job handlers in
this process, and ``db prune`` runs every capability's retention rules. Those belong
to the capabilities, which this toolkit may not import: the composition root
(``orchestrate.app``) hands them in as a :class:`CliWiring`, and the root command sets
it for the command it runs (``wired_by``).

Light on purpose: the root command imports this module for ``--version`` too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrate.core.jobs import JobRegistry
    from orchestrate.core.retention import RetentionPlan
    from orchestrate.core.runtime import Runtime

RuntimeHook = Callable[["Runtime"], Awaitable[None]]
AuditHook = Callable[["Runtime", str, str, "dict[str, Any]"], Awaitable[None]]
"""``(runtime, action, subject, details)``: record what the person at the terminal did."""


def _no_job_handlers(runtime: Runtime) -> JobRegistry:
    from orchestrate.core.jobs import JobRegistry

    del runtime
    return JobRegistry()


async def _no_audit_log(
    runtime: Runtime, action: str, subject: str, details: dict[str, Any]
) -> None:
    del runtime, action, subject, details


def _no_retention_rules() -> RetentionPlan:
    from orchestrate.core.retention import RetentionPlan

    return RetentionPlan()


@dataclass(frozen=True)
class CliWiring:
    """What the composition root gives every command that opens a runtime."""

    on_open: Sequence[RuntimeHook] = field(default_factory=tuple)
    """Run in order once the runtime is open, before the command's work."""
    job_registry: Callable[[Runtime], JobRegistry] = _no_job_handlers
    """Every job handler, for work a command runs in this process (``--wait``)."""
    retention: Callable[[], RetentionPlan] = _no_retention_rules
    """Every retention rule, for ``orchestrate db prune``."""
    audit: AuditHook = _no_audit_log
    """The audit log, for platform commands that change data (``db prune``)."""


_UNWIRED = CliWiring()  # a capability's sub-app run on its own: no hooks, no job handlers
_wiring: ContextVar[CliWiring] = ContextVar("cli_wiring", default=_UNWIRED)


@contextmanager
def wired_by(wiring: CliWiring) -> Iterator[None]:
    """Use ``wiring`` for the commands run inside this block (the root command's job)."""
    token = _wiring.set(wiring)
    try:
        yield
    finally:
        _wiring.reset(token)


def current_wiring() -> CliWiring:
    """The wiring of the command being run (``CliWiring()`` outside the root command)."""
    return _wiring.get()
