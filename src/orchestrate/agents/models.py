"""Agent states and their one transition function, definitions, limits and finish reports.

State machine::

    created ──▶ running ──▶ completed | failed | cancelled
                  │  ▲
                  ▼  │
       waiting_for_input | waiting_for_approval | paused | waiting_for_children

* ``created`` waits for a worker slot (at most ``max_concurrent_agents`` run at once).
* ``running`` → ``waiting_for_approval`` when a tool that needs approval is called;
  ``approve``/``deny`` put it back to ``running``.
* ``running`` → ``waiting_for_input`` when the agent finishes with ``needs_input``;
  ``resume`` with a message continues it.
* ``running`` → ``paused`` on request; ``resume`` continues.
* ``running`` → ``waiting_for_children`` when it called ``spawn_agent``: its job ends
  and the last child to end queues it again (``tree.py``).
* Any non-terminal state may be cancelled; ``failed`` carries a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from orchestrate.core.errors import InvalidTransition


class AgentState(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    WAITING_FOR_INPUT = "waiting_for_input"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    PAUSED = "paused"
    WAITING_FOR_CHILDREN = "waiting_for_children"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({AgentState.COMPLETED, AgentState.FAILED, AgentState.CANCELLED})

_ALLOWED: dict[AgentState, frozenset[AgentState]] = {
    AgentState.CREATED: frozenset({AgentState.RUNNING, AgentState.CANCELLED, AgentState.FAILED}),
    AgentState.RUNNING: frozenset(
        {
            AgentState.WAITING_FOR_INPUT,
            AgentState.WAITING_FOR_APPROVAL,
            AgentState.PAUSED,
            AgentState.WAITING_FOR_CHILDREN,
            AgentState.COMPLETED,
            AgentState.FAILED,
            AgentState.CANCELLED,
        }
    ),
    AgentState.WAITING_FOR_CHILDREN: frozenset(
        {AgentState.RUNNING, AgentState.PAUSED, AgentState.CANCELLED, AgentState.FAILED}
    ),
    AgentState.WAITING_FOR_INPUT: frozenset(
        {AgentState.RUNNING, AgentState.CANCELLED, AgentState.FAILED}
    ),
    AgentState.WAITING_FOR_APPROVAL: frozenset(
        {AgentState.RUNNING, AgentState.PAUSED, AgentState.CANCELLED, AgentState.FAILED}
    ),
    AgentState.PAUSED: frozenset({AgentState.RUNNING, AgentState.CANCELLED, AgentState.FAILED}),
    AgentState.COMPLETED: frozenset(),
    AgentState.FAILED: frozenset(),
    AgentState.CANCELLED: frozenset(),
}


def check_transition(agent_id: str, current: AgentState, target: AgentState) -> None:
    """Raise ``InvalidTransition`` unless ``current → target`` is allowed."""
    if target in _ALLOWED[current]:
        return
    allowed = ", ".join(sorted(s.value for s in _ALLOWED[current])) or "nothing (it has ended)"
    raise InvalidTransition(
        f"Agent {agent_id} cannot go from '{current.value}' to '{target.value}'; "
        f"from '{current.value}' it can go to: {allowed}",
        agent_id=agent_id,
        current=current.value,
        target=target.value,
        allowed=sorted(s.value for s in _ALLOWED[current]),
    )


class FinishStatus(StrEnum):
    """What the agent reports with ``finish``."""

    COMPLETED = "completed"
    BLOCKED = "blocked"
    NEEDS_INPUT = "needs_input"


class ControlRequest(StrEnum):
    """An operator's request to a running agent, picked up within a second or two."""

    PAUSE = "pause"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Limits:
    """Hard limits of one run; crossing any fails the run with a clear reason."""

    max_turns: int = 50
    max_tokens: int | None = None
    max_cost_usd: Decimal | None = None
    max_wall_time: timedelta | None = timedelta(hours=2)
    stuck_repeats: int = 4
    """How many times in a row a cycle of tool calls may repeat before the model is
    warned (and, repeating once more, failed); see ``stuck.py``."""


@dataclass(frozen=True)
class SpawnRequest:
    """One ``spawn_agent`` call of a parent: the child's type and task, its dollar
    budget (None: what its type and the ancestors allow), and the call's id."""

    call_id: str
    type: str
    task: str
    budget: Decimal | None = None


@dataclass(frozen=True)
class AgentDefinition:
    """An agent type: a Markdown file with YAML front matter, like ``.claude/agents/*.md``.

    ``tools`` is the allowlist; ``model``/``provider`` are defaults a run may override.
    """

    name: str
    description: str
    system_prompt: str
    tools: tuple[str, ...]
    source: Path
    model: str | None = None
    provider: str | None = None
    max_turns: int | None = None
    max_cost_usd: Decimal | None = None
    max_tokens: int | None = None
    max_wall_minutes: float | None = None
    stuck_repeats: int | None = None
    network: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def limits_to_json(limits: Limits) -> dict[str, object]:
    return {
        "max_turns": limits.max_turns,
        "max_tokens": limits.max_tokens,
        "max_cost_usd": None if limits.max_cost_usd is None else str(limits.max_cost_usd),
        "max_wall_seconds": (
            None if limits.max_wall_time is None else limits.max_wall_time.total_seconds()
        ),
        "stuck_repeats": limits.stuck_repeats,
    }


def limits_from_json(data: dict[str, object]) -> Limits:
    cost = data.get("max_cost_usd")
    wall = data.get("max_wall_seconds")
    tokens = data.get("max_tokens")
    return Limits(
        max_turns=int(str(data.get("max_turns", 50))),
        max_tokens=None if tokens is None else int(str(tokens)),
        max_cost_usd=None if cost is None else Decimal(str(cost)),
        max_wall_time=None if wall is None else timedelta(seconds=float(str(wall))),
        stuck_repeats=int(str(data.get("stuck_repeats", 4))),
    )


MAX_DENIAL_REASON = 2000
"""Characters of the reason a person gives when denying a tool call: a sentence or two
for the model to read, not a document."""


class ToolCallStatus(StrEnum):
    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DENIED = "denied"
    AWAITING_CHILD = "awaiting_child"
    """A ``spawn_agent`` call whose child runs; the child's end records its result."""
    DONE = "done"


@dataclass(frozen=True)
class ToolCallRecord:
    tool_use_id: str
    turn: int
    name: str
    arguments: dict[str, object]
    status: ToolCallStatus
    output: str | None
    is_error: bool
    decided_by: str | None


@dataclass(frozen=True)
class ChildRef:
    """A sub-agent as its parent lists it."""

    id: str
    type: str
    state: AgentState


@dataclass(frozen=True)
class TreeTotals:
    """Turns, tokens, dollars and active time of a run and all its descendants."""

    turns: int = 0
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    active_seconds: float = 0.0


@dataclass(frozen=True)
class AgentRun:
    """One agent run as stored: what it is doing, where, and what it has spent."""

    id: str
    type: str
    state: AgentState
    task: str
    story_id: str | None
    parent_id: str | None
    provider: str
    model: str
    repo_path: str | None
    workspace_path: str | None
    branch: str | None
    base_ref: str | None
    base_commit: str | None
    limits: Limits
    record_path: str | None
    control: ControlRequest | None
    turns: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal
    active_seconds: float
    tree: TreeTotals
    """What the run and all its descendants spent (equal to its own without children)."""
    finish_status: FinishStatus | None
    summary: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    children: tuple[ChildRef, ...] = ()
    """Its sub-agents, oldest first (filled where a run is shown, empty elsewhere)."""
    pipeline: str | None = None
    """The pipeline whose step started the run (or its root); its costs count there."""
    pipeline_run_id: str | None = None

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )
