"""Tables of the offline OSV database: advisories, the packages they affect, imports.

An advisory's affected packages sit in their own rows keyed by (ecosystem, normalised
name), so matching a lockfile is one indexed lookup per batch of names; their ranges
and listed versions stay JSON, since they are only ever evaluated in Python with the
ecosystem's version ordering (no database orders PEP 440 or semver).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class OsvAdvisoryRow(Base):
    """One OSV record, by its id; re-importing replaces it only when ``modified`` is newer."""

    __tablename__ = "osv_advisories"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime())
    published: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawn: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    aliases: Mapped[list[Any]] = mapped_column(JSONDocument)
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    cvss_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cvss_vector: Mapped[str | None] = mapped_column(String(300), nullable=True)
    references: Mapped[list[Any]] = mapped_column(JSONDocument)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OsvAffectedRow(Base):
    """One package an advisory affects: its ranges (OSV's events) and listed versions."""

    __tablename__ = "osv_affected"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    advisory_id: Mapped[str] = mapped_column(
        ForeignKey("osv_advisories.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    ranges: Mapped[list[Any]] = mapped_column(JSONDocument)
    versions: Mapped[list[Any]] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_osv_affected_ecosystem_name", "ecosystem", "name"),)


class OsvImportRow(Base):
    """One import of an export (a file, a folder or a downloaded ``all.zip``)."""

    __tablename__ = "osv_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(1000))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    records: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
