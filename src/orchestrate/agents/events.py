"""The events of agent runs, with the agent's id as subject.

``agent.<state>`` for every state an agent enters, as readers have always seen them, and
``agent.message_recorded`` for every message of its transcript.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from orchestrate.agents.models import AgentState
from orchestrate.core.events import DomainEvent


class AgentCreated(DomainEvent):
    event_type: ClassVar[str] = "agent.created"
    type: str
    story_id: str | None = None
    parent_id: str | None = None


class AgentMessageRecorded(DomainEvent):
    """A message joined the agent's transcript: the model's reply (with the tool calls it
    asks for) or the next user turn (tool results, an answer, a nudge). Lets live readers
    (the dashboard's agent page) fetch the transcript as it grows; the text is not here."""

    event_type: ClassVar[str] = "agent.message_recorded"
    seq: int
    role: str


class AgentStateChanged(DomainEvent):
    """An agent of ``type`` entered state ``to`` from ``from``; ``reason`` says why it ended."""

    from_: str = Field(alias="from")
    to: str
    type: str
    reason: str | None = None
    turns: int | None = None
    """Set in a final state: the model calls the run made."""
    duration_seconds: float | None = None
    """Set in a final state: from the run's start to its end."""


class AgentStarted(AgentStateChanged):
    """The agent runs: it started, or resumed after a pause, an answer or an approval."""

    event_type: ClassVar[str] = "agent.running"


class AgentAskedForInput(AgentStateChanged):
    event_type: ClassVar[str] = "agent.waiting_for_input"


class AgentRequestedApproval(AgentStateChanged):
    event_type: ClassVar[str] = "agent.waiting_for_approval"


class AgentPaused(AgentStateChanged):
    event_type: ClassVar[str] = "agent.paused"


class AgentWaitingForChildren(AgentStateChanged):
    """The agent started sub-agents and waits, without a worker, for them all to end."""

    event_type: ClassVar[str] = "agent.waiting_for_children"


class AgentCompleted(AgentStateChanged):
    event_type: ClassVar[str] = "agent.completed"


class AgentFailed(AgentStateChanged):
    event_type: ClassVar[str] = "agent.failed"


class AgentCancelled(AgentStateChanged):
    event_type: ClassVar[str] = "agent.cancelled"


STATE_EVENTS: dict[AgentState, type[AgentStateChanged]] = {
    AgentState.RUNNING: AgentStarted,
    AgentState.WAITING_FOR_INPUT: AgentAskedForInput,
    AgentState.WAITING_FOR_APPROVAL: AgentRequestedApproval,
    AgentState.PAUSED: AgentPaused,
    AgentState.WAITING_FOR_CHILDREN: AgentWaitingForChildren,
    AgentState.COMPLETED: AgentCompleted,
    AgentState.FAILED: AgentFailed,
    AgentState.CANCELLED: AgentCancelled,
}
"""The event each state an agent can enter writes (agents are created: ``AgentCreated``)."""
