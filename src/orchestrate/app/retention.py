"""The application's retention plan: the kernel's rules and every capability's.

The kernel owns two growing tables, the job queue and the event log; their rules are
added here, after the capabilities', as the kernel's job handlers are in
``worker.py``. The event log may only be pruned below the slowest durable consumer's
position, which this module — the one place that knows every consumer — supplies as
the events rule's floor (:func:`events_floor`).
"""

from __future__ import annotations

from orchestrate.app import capabilities
from orchestrate.core.events import retention_floor
from orchestrate.core.jobs.retention import FinishedJobs
from orchestrate.core.retention import Retention, RetentionPlan
from orchestrate.core.retention.event_log import event_log_rule
from orchestrate.core.uow import UnitOfWork


async def events_floor(uow: UnitOfWork) -> int | None:
    """The lowest event id that must be kept whatever its age: where the slowest durable
    consumer stands (None while no consumer holds the log back).

    Read in a transaction of its own: the rule calls this inside the one it has open.
    """
    return await retention_floor(uow.sibling(read_only=True))


def kernel_retention() -> Retention:
    return Retention(rules=(FinishedJobs(), event_log_rule(events_floor)))


def retention_plan() -> RetentionPlan:
    """Every rule, capabilities' first (in list order), then the kernel's."""
    return RetentionPlan.of([*capabilities.retention_declarations(), kernel_retention()])
