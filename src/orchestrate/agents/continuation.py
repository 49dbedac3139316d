"""The hand-off when an agent run ends: a job of the caller's choosing, typed at both ends.

A caller that waits on an agent (a pipeline's agent step) starts it with
``on_finished=OnFinished(kind, context)``: a job kind of its own whose payload is
``AgentFinished[C]``, and the context ``C`` it needs to find its way back (which run,
step and attempt). The run stores both; the transaction that ends the run enqueues
that kind with the context and the run's ``AgentOutcome`` — its final state (an
``AgentState``), summary, branch, failure reason and cost — so the caller's handler
needs nothing else from this capability and reads ``payload.outcome.state``, an enum.

The agents capability cannot import its callers, so it enqueues the job as
``AgentFinished[CallerContext]``: the caller's context passes through as stored, and
the caller's handler parses it into its own model like any job payload.

Capabilities that follow every top-level run without having started it (delivery opens
a pull request for a completed run's commits) subscribe to ``top_level_agent_ended``,
announced in the transaction that ends the run, so what they enqueue commits with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from orchestrate.agents.models import AgentState
from orchestrate.agents.tables import AgentRow
from orchestrate.core.hooks import Hook
from orchestrate.core.jobs import JobKind, JobPayload, NewJob
from orchestrate.core.uow import UnitOfWork

C = TypeVar("C", bound=JobPayload)


class AgentOutcome(BaseModel):
    """How a run ended, as whoever waits on it learns it."""

    model_config = ConfigDict(frozen=True)

    agent_id: str
    state: AgentState
    """Always a final state: completed, failed or cancelled."""
    summary: str | None = None
    branch: str | None = None
    failure_reason: str | None = None
    cost_usd: Decimal = Decimal(0)

    @field_validator("state")
    @classmethod
    def _final(cls, state: AgentState) -> AgentState:
        if not state.is_terminal:
            raise ValueError(f"an agent that is {state.value} has not finished")
        return state


_OUTCOME_FIELDS = frozenset(AgentOutcome.model_fields)


class AgentFinished(JobPayload, Generic[C]):
    """The payload of an ``on_finished`` job: the caller's context and the run's outcome."""

    context: C
    outcome: AgentOutcome

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, data: Any) -> Any:
        """Read notices queued before the hand-off was typed: one flat object.

        They held the caller's keys and the outcome's side by side
        (``{run, step, attempt, agent_id, state, summary, …}``).
        """
        if isinstance(data, dict) and "outcome" not in data and "agent_id" in data:
            return {
                "context": {k: v for k, v in data.items() if k not in _OUTCOME_FIELDS},
                "outcome": {k: v for k, v in data.items() if k in _OUTCOME_FIELDS},
            }
        return data


class CallerContext(JobPayload):
    """A caller's context as this capability sees it: opaque, passed through as stored."""

    model_config = ConfigDict(frozen=True, extra="allow")


@dataclass(frozen=True)
class OnFinished(Generic[C]):
    """What to enqueue when a run ends: the caller's kind, given its ``context``."""

    kind: JobKind[AgentFinished[C]]
    context: C

    def stored(self) -> dict[str, Any]:
        """The JSON kept on the run until it ends (the shape runs have always stored)."""
        return {"kind": self.kind.name, "payload": self.context.model_dump(mode="json")}


class StoredContinuation(BaseModel):
    """An ``on_finished`` as a run row keeps it."""

    model_config = ConfigDict(frozen=True)

    kind: str
    payload: dict[str, Any] = {}

    def job(self, outcome: AgentOutcome) -> NewJob[AgentFinished[CallerContext]]:
        """The job to enqueue now that the run ended with ``outcome``: one per run."""
        kind = JobKind(self.kind, AgentFinished[CallerContext])
        context = CallerContext.model_validate(self.payload)
        payload = AgentFinished[CallerContext](context=context, outcome=outcome)
        return NewJob(kind, payload, key=f"{self.kind}:{outcome.agent_id}")


InlineContinuation = Callable[[UnitOfWork, dict[str, Any], AgentOutcome], Awaitable[None]]
"""Does a continuation's work in the transaction that ends the run: given that unit of
work, the stored context and the outcome."""

_inline: dict[str, InlineContinuation] = {}


def run_inline(kind: JobKind[Any], handler: InlineContinuation) -> None:
    """Let the transaction that ends a run do the work of its ``kind`` continuation itself.

    For a continuation of this capability (a sub-agent reporting to its parent) the job
    is only a hand-off; doing it in the ending transaction saves a job's enqueue, claim
    and transaction, with the same effect, once. The job kind stays registered, so jobs
    queued before (or by a process without the handler) still run.
    """
    _inline[kind.name] = handler


def inline_continuation(kind: str) -> InlineContinuation | None:
    """The handler ``run_inline`` registered for ``kind``, if any."""
    return _inline.get(kind)


@dataclass(frozen=True)
class AgentEnded:
    """A top-level run reached a final state; what a follower needs to act on its work."""

    agent_id: str
    type: str
    state: AgentState
    story_id: str | None
    repo_path: str | None
    branch: str | None
    base_commit: str | None


top_level_agent_ended: Hook[AgentEnded] = Hook("agent.top_level_ended")
"""Announced inside the transaction that ends a run without a parent (sub-agents' ends
are their parent's business); a subscriber's error rolls that transaction back."""


def announce_end_when_committed(uow: UnitOfWork, row: AgentRow) -> None:
    """Announce ``top_level_agent_ended`` just before the ending transaction commits."""
    if row.parent_id is not None or not top_level_agent_ended.subscribers:
        return

    async def announce() -> None:
        ended = AgentEnded(
            agent_id=row.id,
            type=row.type,
            state=AgentState(row.state),
            story_id=row.story_id,
            repo_path=row.repo_path,
            branch=row.branch,
            base_commit=row.base_commit,
        )
        await top_level_agent_ended.announce(uow, ended)

    uow.before_commit(announce)
