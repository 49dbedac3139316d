"""Tables of the pipelines capability: definitions, runs and the steps of each run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class PipelineRow(Base):
    """A registered pipeline: its YAML as written and the validated spec."""

    __tablename__ = "pipelines"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    repo_path: Mapped[str | None] = mapped_column(String(1000))
    source_path: Mapped[str | None] = mapped_column(String(1000))
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PipelineRunRow(Base):
    """One run; it keeps the spec it started with, so editing the pipeline changes no run."""

    __tablename__ = "pipeline_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(100))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    trigger_kind: Mapped[str] = mapped_column(String(20))
    concurrency_group: Mapped[str | None] = mapped_column(String(300), index=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_step_id: Mapped[str | None] = mapped_column(String(40), index=True)
    rerun_of: Mapped[str | None] = mapped_column(String(40))
    repo_path: Mapped[str | None] = mapped_column(String(1000))
    workspace_path: Mapped[str | None] = mapped_column(String(1000))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("pipeline", "number"),
        Index("ix_pipeline_runs_created_at_id", "created_at", "id"),
    )


class PipelineStepRow(Base):
    """One step of a run, or one matrix instance of it (``parent_key`` names the step)."""

    __tablename__ = "pipeline_steps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(300))
    step_id: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    parent_key: Mapped[str | None] = mapped_column(String(100))
    matrix: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    conclusion: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[str | None] = mapped_column(String(40))
    child_run_id: Mapped[str | None] = mapped_column(String(40))
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    process: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    reused_from: Mapped[str | None] = mapped_column(String(40))
    log_path: Mapped[str | None] = mapped_column(String(1000))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("run_id", "key"),)
