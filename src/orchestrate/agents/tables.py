"""Tables of the agents capability: runs, their transcript, provider calls and tool calls."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(30), index=True)
    task: Mapped[str] = mapped_column(Text)
    story_id: Mapped[str | None] = mapped_column(String(40), index=True)
    parent_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(1000))
    model: Mapped[str] = mapped_column(String(200))
    repo_path: Mapped[str | None] = mapped_column(String(1000))
    workspace_path: Mapped[str | None] = mapped_column(String(1000))
    branch: Mapped[str | None] = mapped_column(String(300))
    base_ref: Mapped[str | None] = mapped_column(String(300))
    base_commit: Mapped[str | None] = mapped_column(String(64))
    limits: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    record_path: Mapped[str | None] = mapped_column(String(1000))
    control: Mapped[str | None] = mapped_column(String(20))
    turns: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))
    active_seconds: Mapped[float] = mapped_column(default=0.0)
    tree_turns: Mapped[int] = mapped_column(Integer, default=0)
    """Turns of this run and all its descendants (``tree_*`` are kept by ``record_call``)."""
    tree_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    tree_cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))
    tree_active_seconds: Mapped[float] = mapped_column(default=0.0)
    reserved_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))
    """The most the run's model call in flight can cost (0 when none is)."""
    tree_reserved_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))
    """``reserved_usd`` summed over the run's tree: spent plus this never passes a limit."""
    finish_status: Mapped[str | None] = mapped_column(String(20))
    summary: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    pipeline: Mapped[str | None] = mapped_column(String(200))
    """The pipeline whose step started the run (or its root): its costs are charged to it."""
    pipeline_run_id: Mapped[str | None] = mapped_column(String(40))
    origin_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    """Who started the run for which purpose (e.g. a pipeline step attempt): starting twice
    with the same key returns the first run."""
    on_finished: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    """A job (kind, payload) to enqueue in the transaction that ends the run."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_agents_created_at_id", "created_at", "id"),)


class AgentMessageRow(Base):
    """One message of the transcript, in order; written before the next provider call."""

    __tablename__ = "agent_messages"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("agent_id", "seq"),)


class AgentCallRow(Base):
    """One provider call: its model, token usage and cost."""

    __tablename__ = "agent_calls"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    turn: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgentToolCallRow(Base):
    """One tool call and, once it ran, its result; resume never re-runs a finished one."""

    __tablename__ = "agent_tool_calls"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(40), ForeignKey("agents.id", ondelete="CASCADE"))
    tool_use_id: Mapped[str] = mapped_column(String(200))
    turn: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    input: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(30))
    output: Mapped[str | None] = mapped_column(Text)
    is_error: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("agent_id", "tool_use_id"),)
