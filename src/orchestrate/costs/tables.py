"""Tables of the cost ledger: one row per model call, and the spending budgets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class CostEntryRow(Base):
    """A model call's tokens and price. Written in the transaction that records the
    call; kept when the agent run is deleted (no foreign key), so reports outlive runs."""

    __tablename__ = "cost_entries"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    day: Mapped[str] = mapped_column(String(10))
    """The UTC date (``2026-12-07``): reports group by it the same way on both databases."""
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(1000))
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    agent_type: Mapped[str] = mapped_column(String(100))
    story_id: Mapped[str | None] = mapped_column(String(40))
    pipeline: Mapped[str | None] = mapped_column(String(200))
    pipeline_run_id: Mapped[str | None] = mapped_column(String(40))
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_micros: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_cost_entries_agent_type_created_at", "agent_type", "created_at"),
        Index("ix_cost_entries_pipeline_created_at", "pipeline", "created_at"),
    )


class CostBudgetRow(Base):
    """A spending limit per period for everything, an agent type or a pipeline."""

    __tablename__ = "cost_budgets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    scope_value: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(10))
    limit_micros: Mapped[int] = mapped_column(BigInteger)
    warn_at: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    spent_micros: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("scope", "scope_value", "period"),)
