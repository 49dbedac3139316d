"""Approval steps: named approvers decide; the run goes on when enough have approved.

Approvers are API token names (from the CLI: the login name). Each may decide once.
One rejection fails the step; ``required`` approvals succeed it. Nothing holds a
worker while a step waits: the decision itself advances the run, and a timeout is a
job scheduled for the deadline.
"""

from __future__ import annotations

from typing import Any, Literal

from orchestrate.auth.service import Actor
from orchestrate.core.errors import Conflict, NotFound, PermissionDenied
from orchestrate.core.events import record_event
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines._store import (
    LoadedRun,
    find_step,
    load_run,
    spec_of,
    to_approval,
    waiting_steps,
)
from orchestrate.pipelines.engine import Outcome, finish_attempt
from orchestrate.pipelines.events import StepApproved, StepRejected
from orchestrate.pipelines.models import PendingApproval, StepRun, StepStatus
from orchestrate.pipelines.spec.models import ApprovalSpec, PipelineSpec, StepKind
from orchestrate.pipelines.tables import PipelineStepRow

Decision = Literal["approve", "reject"]


def approver_name(actor: Actor) -> str:
    """The name an approver list matches: a token's name, or the login name at the CLI."""
    for prefix in ("token:", "cli:"):
        if actor.name.startswith(prefix):
            return actor.name.removeprefix(prefix)
    return actor.name


async def decide(
    uow: UnitOfWork, run_id: str, key: str, actor: Actor, decision: Decision, comment: str | None
) -> LoadedRun:
    """Record one approver's decision inside the caller's transaction."""
    loaded = await load_run(uow, run_id)
    row, approval = _approval_step(loaded, key)
    name = approver_name(actor)
    if name not in approval.approvers:
        raise PermissionDenied(
            f"'{name}' may not approve step '{key}'; its approvers are: "
            f"{', '.join(approval.approvers)}",
            run_id=run_id,
            step=key,
        )
    if any(item["by"] == name for item in row.approvals):
        raise Conflict(f"'{name}' has already decided on step '{key}'", run_id=run_id, step=key)
    now = uow.now()
    entry: dict[str, Any] = {
        "by": name,
        "decision": decision,
        "comment": comment,
        "at": now.isoformat(),
    }
    row.approvals = [*row.approvals, entry]
    decided = StepApproved if decision == "approve" else StepRejected
    record_event(uow, decided(subject=run_id, step=key, by=name))
    approved = [item for item in row.approvals if item["decision"] == "approve"]
    if decision == "reject":
        reason = f"rejected by {name}" + (f": {comment}" if comment else "")
        await finish_attempt(uow, loaded, row, Outcome(StepStatus.FAILURE, _outputs(row), reason))
    elif len(approved) >= approval.required:
        await finish_attempt(uow, loaded, row, Outcome(StepStatus.SUCCESS, _outputs(row)))
    return loaded


async def expire(uow: UnitOfWork, step_row_id: str) -> None:
    """The approval's time ran out: decide as its ``on_timeout`` says."""
    row = await find_step(uow, step_row_id)
    if row is None or StepStatus(row.status) is not StepStatus.WAITING:
        return
    loaded = await load_run(uow, row.run_id)
    row, approval = _approval_step(loaded, row.key)
    outputs = {**_outputs(row), "timed_out": "true"}
    if approval.on_timeout == "approve":
        outcome = Outcome(StepStatus.SUCCESS, outputs)
    else:
        outcome = Outcome(StepStatus.FAILURE, outputs, "no decision before the approval timed out")
    await finish_attempt(uow, loaded, row, outcome)


async def pending_for(uow: UnitOfWork, actor: Actor) -> list[PendingApproval]:
    """Approval steps waiting on this caller (named as approver, not yet decided)."""
    name = approver_name(actor)
    pending: list[PendingApproval] = []
    for row, run in await waiting_steps(uow):
        step = spec_of(run).step(row.step_id)
        if step.approval is None or name not in step.approval.approvers:
            continue
        if any(item["by"] == name for item in row.approvals):
            continue
        pending.append(
            PendingApproval(
                run_id=run.id,
                pipeline=run.pipeline,
                step=row.key,
                name=step.display_name,
                approvers=list(step.approval.approvers),
                required=step.approval.required,
                approvals=[to_approval(item) for item in row.approvals],
                waiting_since=row.started_at,
            )
        )
    return pending


def _approval_step(loaded: LoadedRun, key: str) -> tuple[PipelineStepRow, ApprovalSpec]:
    row = loaded.steps.get(key)
    if row is None:
        raise NotFound(f"Run {loaded.run.id} has no step '{key}'", run_id=loaded.run.id, step=key)
    step = loaded.spec.step(row.step_id)
    if step.kind is not StepKind.APPROVAL or step.approval is None:
        raise Conflict(f"Step '{key}' is not an approval step", run_id=loaded.run.id, step=key)
    if StepStatus(row.status) is not StepStatus.WAITING:
        raise Conflict(
            f"Step '{key}' is {row.status}, not waiting for approval",
            run_id=loaded.run.id,
            step=key,
        )
    return row, step.approval


def _outputs(row: PipelineStepRow) -> dict[str, str]:
    approvers = [item["by"] for item in row.approvals if item["decision"] == "approve"]
    comments = [item["comment"] for item in row.approvals if item.get("comment")]
    return {"approved_by": ",".join(approvers), "comment": comments[-1] if comments else ""}


def may_decide(spec: PipelineSpec, step: StepRun, actor: Actor) -> bool:
    """Whether ``actor`` may approve or reject ``step`` of a run of ``spec`` now: it
    waits for approval, names ``actor`` among its approvers, and ``actor`` has not
    decided on it yet (what ``decide`` would refuse, asked before offering the buttons)."""
    definition = spec.step(step.step_id)
    if step.status is not StepStatus.WAITING or definition.approval is None:
        return False
    name = approver_name(actor)
    return name in definition.approval.approvers and all(a.by != name for a in step.approvals)
