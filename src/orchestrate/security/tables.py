"""Tables of recorded scans and their findings.

A scan row carries its summary (counts, the gate's verdict) so lists of scans never
read findings; a finding row is a flat copy of ``models.Finding`` with its triage state
(``new`` or ``baselined``). Text a scanned file or an advisory supplied is capped
before it is stored (``_store``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class SecurityScanRow(Base):
    """One scan: what was scanned with which scanners, and what the gate decided."""

    __tablename__ = "security_scans"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    root: Mapped[str] = mapped_column(String(4096))
    repository: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))  # cli, api, pipeline
    status: Mapped[str] = mapped_column(String(20))  # queued, running, completed, failed
    error: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSONDocument)
    fail_on: Mapped[str] = mapped_column(String(20))
    has_baseline: Mapped[bool] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    new_count: Mapped[int] = mapped_column(Integer)
    baselined_count: Mapped[int] = mapped_column(Integer)
    failing_count: Mapped[int] = mapped_column(Integer)
    by_severity: Mapped[dict[str, int]] = mapped_column(JSONDocument)
    dependency_count: Mapped[int] = mapped_column(Integer)
    notices: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_security_scans_repository", "repository"),
        Index("ix_security_scans_started_at", "started_at"),
    )


class SecurityFindingRow(Base):
    """One finding of one scan."""

    __tablename__ = "security_findings"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("security_scans.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20))  # new, baselined
    fingerprint: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    tool: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(1000))
    message: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(4096))
    start_line: Mapped[int | None] = mapped_column(Integer)
    end_line: Mapped[int | None] = mapped_column(Integer)
    start_column: Mapped[int | None] = mapped_column(Integer)
    end_column: Mapped[int | None] = mapped_column(Integer)
    commit: Mapped[str | None] = mapped_column(String(64))
    snippet: Mapped[str] = mapped_column(Text)
    help_uri: Mapped[str | None] = mapped_column(String(2000))
    properties: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    fix: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)

    __table_args__ = (
        Index("ix_security_findings_scan", "scan_id", "id"),
        Index("ix_security_findings_fingerprint", "fingerprint"),
    )
