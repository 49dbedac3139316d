"""The monitoring capability's table: metric totals folded from the event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, String
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, UTCDateTime


class MetricCounterRow(Base):
    """One sample of a database-held metric: a counter, or a histogram's bucket, sum or
    count. Rows only ever grow (the metrics consumer adds each batch's increments), so
    every ``serve`` process renders the same totals from them."""

    __tablename__ = "metric_counters"

    sample: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The sample's name: ``orchestrate_pipeline_runs_total``,
    ``orchestrate_pipeline_run_duration_seconds_bucket`` …"""
    labels: Mapped[str] = mapped_column(String(1000), primary_key=True)
    """Its labels as canonical JSON (keys sorted): ``{"pipeline":"ci","status":"success"}``."""
    value: Mapped[float] = mapped_column(Double())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
