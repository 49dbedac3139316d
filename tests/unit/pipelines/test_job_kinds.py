"""The pipelines' job payloads read the JSON their kinds have always stored."""

from __future__ import annotations

from decimal import Decimal

from orchestrate.agents.service import AgentState
from orchestrate.pipelines import kinds
from orchestrate.pipelines.models import RunStatus


def test_a_step_job_queued_by_an_earlier_version_parses() -> None:
    stored = {"step": "pstep_01", "run": "prun_01", "attempt": 2}
    assert kinds.STEP.parse(stored) == kinds.AttemptRef(step="pstep_01", run="prun_01", attempt=2)
    assert kinds.STEP.dump(kinds.STEP.parse(stored)) == stored


def test_an_agent_notice_queued_flat_by_an_earlier_version_parses() -> None:
    stored = {
        "run": "prun_01",
        "step": "pstep_01",
        "attempt": 1,
        "agent_id": "agent_01",
        "state": "cancelled",
        "summary": "",
        "branch": None,
        "failure_reason": None,
        "cost_usd": "0",
    }
    notice = kinds.AGENT_FINISHED.parse(stored)
    assert notice.context == kinds.AttemptRef(step="pstep_01", run="prun_01", attempt=1)
    assert notice.outcome.state is AgentState.CANCELLED
    assert notice.outcome.cost_usd == Decimal(0)


def test_a_child_run_notice_carries_its_status_as_an_enum() -> None:
    stored = {"step": "pstep_01", "run": "prun_02", "status": "failure"}
    assert kinds.CHILD_FINISHED.parse(stored).status is RunStatus.FAILURE
    assert kinds.CHILD_FINISHED.dump(kinds.CHILD_FINISHED.parse(stored)) == stored


def test_a_cancellation_queued_without_a_reason_has_an_empty_one() -> None:
    assert kinds.CANCEL_RUN.parse({"run": "prun_01"}).reason == ""
