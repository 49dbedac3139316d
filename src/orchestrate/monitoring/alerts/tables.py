"""Tables of alerting: applied rule files, alerts, silences and notification groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class AlertRuleSourceRow(Base):
    """One applied alerts file (or API document): its rules, routes and inhibitions."""

    __tablename__ = "alert_rule_sources"

    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    """The file as YAML read it; validated when applied, read back through the models."""
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_by: Mapped[str] = mapped_column(String(200))


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(32))
    open_fingerprint: Mapped[str | None] = mapped_column(String(32), unique=True)
    """The fingerprint while pending or firing, else NULL: one open alert per series."""
    labels: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    annotations: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    state: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    active_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    suppressed_by: Mapped[str | None] = mapped_column(String(40))
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    """Resolved and nothing more to notify about it: evaluations no longer read it."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_alerts_settled_state", "settled", "state"),
        Index("ix_alerts_resolved_at", "resolved_at"),
    )


class AlertSilenceRow(Base):
    __tablename__ = "alert_silences"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    matchers: Mapped[list[str]] = mapped_column(JSONDocument)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    comment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertGroupRow(Base):
    """A notification group while it is open (see ``routing``)."""

    __tablename__ = "alert_groups"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    route_id: Mapped[str] = mapped_column(String(600))
    group_labels: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified_hash: Mapped[str | None] = mapped_column(String(32))
    notified_firing: Mapped[list[str]] = mapped_column(JSONDocument)
    version: Mapped[int] = mapped_column(Integer, default=0)
