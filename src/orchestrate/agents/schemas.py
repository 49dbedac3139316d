"""Request and response models of the agents API (and of ``agent … --json``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.agents.models import MAX_DENIAL_REASON, AgentDefinition, AgentRun, AgentState
from orchestrate.agents.stats import AgentStats, AgentStatsReport
from orchestrate.agents.stuck import MIN_REPEATS
from orchestrate.llm.service import ContentBlock, Message
from orchestrate.web.schemas import ServerPath

# The scale of the stored column: a run reads the same right after it is created
# (an in-memory Decimal(0)) as when it is read back ("0.000000").
_COST_QUANTUM = Decimal("0.000001")


class AgentStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Lengths are those of the stored columns, so SQLite refuses what PostgreSQL would.
    type: str = Field(min_length=1, max_length=100, examples=["story-developer"])
    task: str = Field(min_length=1, examples=["Make the failing test in tests/test_math.py pass"])
    story_id: str | None = Field(default=None, description="Story id or BMAD key to work on.")
    repo: ServerPath | None = Field(
        default=None,
        description="Path of a git repository on the server; a worktree is made.",
    )
    base_ref: str = Field(default="HEAD", max_length=300)
    provider: str | None = Field(default=None, max_length=1000, examples=["anthropic", "openai"])
    model: str | None = Field(default=None, max_length=200)
    max_turns: int | None = Field(default=None, ge=1)
    max_cost_usd: Decimal | None = Field(default=None, gt=0)
    stuck_repeats: int | None = Field(
        default=None,
        ge=MIN_REPEATS,
        description="How many times in a row a cycle of identical tool calls may repeat "
        "before the agent is warned, then failed (default: the type's, else 4).",
    )
    start: bool = Field(default=True, description="Queue it now; false leaves it 'created'.")
    force: bool = Field(
        default=False,
        description="Start on the story even while another agent is active on it "
        "(otherwise 409 naming that agent).",
    )


class AgentResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str | None = Field(default=None, description="The answer to an agent's question.")


class AgentDenyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None,
        max_length=MAX_DENIAL_REASON,
        description="Why the call is refused; the agent reads it with the denial.",
        examples=["Do not push to main; open a pull request instead."],
    )


class AgentChildOut(BaseModel):
    """A sub-agent as its parent lists it."""

    id: str
    type: str
    state: AgentState


class TreeTotalsOut(BaseModel):
    """What a run and all its descendants spent; its limits bound these."""

    turns: int
    tokens: int
    cost_usd: Decimal
    active_seconds: float


class AgentOut(BaseModel):
    id: str
    type: str
    state: AgentState
    task: str
    story_id: str | None
    parent_id: str | None = Field(description="The agent that started this one with spawn_agent.")
    children: list[AgentChildOut] = Field(description="Sub-agents this one started, oldest first.")
    waiting_on: list[str] = Field(
        description="While waiting_for_children: the sub-agents that have not ended yet."
    )
    provider: str
    model: str
    repo_path: str | None
    workspace_path: str | None
    branch: str | None
    base_ref: str | None
    base_commit: str | None
    turns: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    total_tokens: int
    cost_usd: Decimal
    active_seconds: float
    tree: TreeTotalsOut = Field(
        description="Turns, tokens, dollars and active time of this run and all descendants."
    )
    limits: dict[str, Any]
    control: str | None
    finish_status: str | None
    summary: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, run: AgentRun) -> AgentOut:
        limits = run.limits
        return cls(
            id=run.id,
            type=run.type,
            state=run.state,
            task=run.task,
            story_id=run.story_id,
            parent_id=run.parent_id,
            children=[AgentChildOut(id=c.id, type=c.type, state=c.state) for c in run.children],
            waiting_on=(
                [c.id for c in run.children if not c.state.is_terminal]
                if run.state is AgentState.WAITING_FOR_CHILDREN
                else []
            ),
            provider=run.provider,
            model=run.model,
            repo_path=run.repo_path,
            workspace_path=run.workspace_path,
            branch=run.branch,
            base_ref=run.base_ref,
            base_commit=run.base_commit,
            turns=run.turns,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            cache_read_tokens=run.cache_read_tokens,
            cache_write_tokens=run.cache_write_tokens,
            total_tokens=run.total_tokens,
            cost_usd=run.cost_usd.quantize(_COST_QUANTUM),
            active_seconds=round(run.active_seconds, 3),
            tree=TreeTotalsOut(
                turns=run.tree.turns,
                tokens=run.tree.tokens,
                cost_usd=run.tree.cost_usd.quantize(_COST_QUANTUM),
                active_seconds=round(run.tree.active_seconds, 3),
            ),
            limits={
                "max_turns": limits.max_turns,
                "max_tokens": limits.max_tokens,
                "max_cost_usd": limits.max_cost_usd,
                "max_wall_seconds": (
                    limits.max_wall_time.total_seconds() if limits.max_wall_time else None
                ),
                "stuck_repeats": limits.stuck_repeats,
            },
            control=run.control.value if run.control else None,
            finish_status=run.finish_status.value if run.finish_status else None,
            summary=run.summary,
            failure_reason=run.failure_reason,
            created_at=run.created_at,
            updated_at=run.updated_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


class AgentTypeOut(BaseModel):
    name: str
    description: str
    tools: list[str]
    model: str | None
    provider: str | None
    max_turns: int | None
    max_cost_usd: Decimal | None
    stuck_repeats: int | None
    source: str

    @classmethod
    def of(cls, definition: AgentDefinition) -> AgentTypeOut:
        return cls(
            name=definition.name,
            description=definition.description,
            tools=list(definition.tools),
            model=definition.model,
            provider=definition.provider,
            max_turns=definition.max_turns,
            max_cost_usd=definition.max_cost_usd,
            stuck_repeats=definition.stuck_repeats,
            source=str(definition.source),
        )


class MessageOut(BaseModel):
    seq: int
    created_at: datetime
    role: str
    content: list[ContentBlock]

    @classmethod
    def of(cls, seq: int, created_at: datetime, message: Message) -> MessageOut:
        return cls(seq=seq, created_at=created_at, role=message.role.value, content=message.content)


class MessagesOut(BaseModel):
    items: list[MessageOut]
    next_after: int = Field(description="Pass as ?after= to get only newer messages.")


class AgentStatsTotalOut(BaseModel):
    """Figures of a set of runs; ``docs/agents.md`` (Performance) defines each."""

    runs: int = Field(description="Finished runs: completed + failed + cancelled.")
    completed: int
    failed: int = Field(description="Failed runs, those the agent ended as 'blocked' included.")
    cancelled: int
    active: int = Field(description="Runs not finished yet; counted in no other figure.")
    success_rate: float | None = Field(
        description="completed / runs, rounded to 4 places; null without finished runs."
    )
    median_turns: float | None = Field(description="Rounded to 3 places, as durations.")
    p90_turns: float | None
    median_duration_seconds: float | None = Field(
        description="Wall time from start to finish; runs that never started are left out."
    )
    p90_duration_seconds: float | None
    input_tokens: int
    output_tokens: int
    total_cost_usd: Decimal = Field(description="An exact decimal string, six places.")
    mean_cost_usd: Decimal | None = Field(description="total_cost_usd / runs, six places.")

    @classmethod
    def figures_of(cls, stats: AgentStats) -> dict[str, Any]:
        def seconds(duration: timedelta | None) -> float | None:
            return None if duration is None else round(duration.total_seconds(), 3)

        rate = stats.success_rate
        return {
            "runs": stats.runs,
            "completed": stats.completed,
            "failed": stats.failed,
            "cancelled": stats.cancelled,
            "active": stats.active,
            "success_rate": None if rate is None else round(rate, 4),
            "median_turns": None if stats.median_turns is None else round(stats.median_turns, 3),
            "p90_turns": None if stats.p90_turns is None else round(stats.p90_turns, 3),
            "median_duration_seconds": seconds(stats.median_duration),
            "p90_duration_seconds": seconds(stats.p90_duration),
            "input_tokens": stats.input_tokens,
            "output_tokens": stats.output_tokens,
            "total_cost_usd": stats.total_cost_usd,
            "mean_cost_usd": stats.mean_cost_usd,
        }


class AgentStatsGroupOut(AgentStatsTotalOut):
    """The figures of one agent type on one model."""

    type: str
    model: str


class AgentStatsOut(BaseModel):
    """``GET /api/monitoring/agents`` and ``orchestrate agent stats --json``."""

    since: datetime | None = Field(description="Runs created at or after this (UTC); null: all.")
    type: str | None = Field(description="The type asked for, or null for all.")
    model: str | None = Field(description="The model asked for, or null for all.")
    items: list[AgentStatsGroupOut] = Field(description="One per agent type and model.")
    total: AgentStatsTotalOut = Field(description="All the listed runs together.")

    @classmethod
    def of(cls, report: AgentStatsReport) -> AgentStatsOut:
        items = [
            AgentStatsGroupOut(
                type=group.type or "",
                model=group.model or "",
                **AgentStatsTotalOut.figures_of(group),
            )
            for group in report.groups
        ]
        return cls(
            since=report.filter.since,
            type=report.filter.agent_type,
            model=report.filter.model,
            items=items,
            total=AgentStatsTotalOut(**AgentStatsTotalOut.figures_of(report.total)),
        )
