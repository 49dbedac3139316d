"""The typed hand-off when an agent run ends, from the caller's request to its handler."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from orchestrate.agents.continuation import StoredContinuation
from orchestrate.agents.service import AgentFinished, AgentOutcome, AgentState, OnFinished
from orchestrate.core.jobs import JobKind, JobPayload, PayloadInvalid


class Ticket(JobPayload):
    ticket: str
    round: int


CLOSE_TICKET = JobKind("test.close_ticket", AgentFinished[Ticket])


def outcome(state: AgentState = AgentState.COMPLETED) -> AgentOutcome:
    return AgentOutcome(
        agent_id="agent_01",
        state=state,
        summary="fixed [urgent] crash",
        branch="agent/fix",
        cost_usd=Decimal("0.012300"),
    )


def handed_off(on_finished: OnFinished[Ticket], ended: AgentOutcome) -> AgentFinished[Ticket]:
    """What the caller's handler receives: stored on the run, enqueued at its end, parsed."""
    stored = StoredContinuation.model_validate(on_finished.stored())
    job = stored.job(ended)
    assert job.key == f"test.close_ticket:{ended.agent_id}"
    return CLOSE_TICKET.parse(job.kind.dump(job.payload))


def test_the_caller_gets_its_own_context_and_the_outcome_typed() -> None:
    received = handed_off(OnFinished(CLOSE_TICKET, Ticket(ticket="T-1", round=2)), outcome())

    assert received.context == Ticket(ticket="T-1", round=2)
    assert received.outcome.state is AgentState.COMPLETED
    assert received.outcome.cost_usd == Decimal("0.012300")
    assert received.outcome.summary == "fixed [urgent] crash"


def test_a_run_keeps_the_continuation_in_the_shape_runs_always_stored() -> None:
    on_finished = OnFinished(CLOSE_TICKET, Ticket(ticket="T-1", round=2))
    assert on_finished.stored() == {
        "kind": "test.close_ticket",
        "payload": {"ticket": "T-1", "round": 2},
    }


def test_a_notice_queued_before_the_hand_off_was_typed_still_parses() -> None:
    flat = {
        "ticket": "T-9",
        "round": 1,
        "agent_id": "agent_02",
        "state": "failed",
        "summary": None,
        "branch": "agent/x",
        "failure_reason": "ran out of turns",
        "cost_usd": "0.5",
    }
    received = CLOSE_TICKET.parse(flat)
    assert received.context == Ticket(ticket="T-9", round=1)
    assert received.outcome.state is AgentState.FAILED
    assert received.outcome.failure_reason == "ran out of turns"


def test_an_outcome_is_always_a_final_state() -> None:
    with pytest.raises(ValidationError, match="has not finished"):
        outcome(AgentState.RUNNING)


def test_a_notice_with_an_unknown_state_is_refused_with_the_field_named() -> None:
    bad = {"context": {"ticket": "T-1", "round": 1}, "outcome": {"agent_id": "a", "state": "won"}}
    with pytest.raises(PayloadInvalid, match=r"outcome\.state: Input should be"):
        CLOSE_TICKET.parse(bad)
