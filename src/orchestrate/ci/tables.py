"""Tables of the CI test history: what each test did on each tree SHA and CI attempt.

A million results must stay small and quick to aggregate, so names are interned: a
result row holds integer ids of its repository, test and tree SHA, the counts of its
tries, and the time its report was recorded — nothing longer than a few integers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, UTCDateTime

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class CiRepositoryRow(Base):
    """A repository's name as CI reports named it, interned (need not be registered)."""

    __tablename__ = "ci_repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CiTestRow(Base):
    """One test of a repository, by its identity (``classname::name``)."""

    __tablename__ = "ci_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("ci_repositories.id"))
    identity: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("repository_id", "identity"),)


class CiTreeRow(Base):
    """A git tree SHA of a repository; ids grow in the order trees were first seen,
    which is the order "the repository's previous SHAs" means."""

    __tablename__ = "ci_trees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("ci_repositories.id"))
    tree_sha: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("repository_id", "tree_sha"),)


class CiTestRunRow(Base):
    """One recorded report: a repository's tests on a tree SHA at a CI attempt.

    Unique per (tree, attempt): recording the same report again replaces its results."""

    __tablename__ = "ci_test_runs"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("ci_repositories.id"))
    tree_id: Mapped[int] = mapped_column(ForeignKey("ci_trees.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tests: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("tree_id", "attempt"),
        Index("ix_ci_test_runs_repository_id_recorded_at", "repository_id", "recorded_at"),
    )


class CiTestResultRow(Base):
    """What one test did in one run: how many tries passed and failed (a framework's
    retries within the run are tries), the last try's status, the time it took.

    ``status`` is a small code (``_store.STATUS_CODES``); the repository, tree and time
    are copied from the run so that "one repository, last 30 days" is read from one
    covering index without a join."""

    __tablename__ = "ci_test_results"

    run_id: Mapped[int] = mapped_column(
        _BIG_ID, ForeignKey("ci_test_runs.id", ondelete="CASCADE"), primary_key=True
    )
    test_id: Mapped[int] = mapped_column(ForeignKey("ci_tests.id"), primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer)
    tree_id: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[int] = mapped_column(SmallInteger)
    passes: Mapped[int] = mapped_column(SmallInteger)
    failures: Mapped[int] = mapped_column(SmallInteger)
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # "Which tests failed in this repository lately": failures are a few percent of
        # the rows, so this partial index is small and a month is read from it alone.
        Index(
            "ix_ci_test_results_failures",
            "repository_id",
            "recorded_at",
            "test_id",
            "tree_id",
            sqlite_where=text("failures > 0"),
            postgresql_where=text("failures > 0"),
        ),
        # One test's history by tree: did it pass on the tree where it failed, its runs
        # over a window, its outcomes on earlier trees (covering: no table reads).
        Index(
            "ix_ci_test_results_test",
            "test_id",
            "tree_id",
            "recorded_at",
            "passes",
            "failures",
        ),
    )


class CiQuarantineRow(Base):
    """A test's quarantine: set when it is quarantined, kept (released) afterwards so
    its history since release is what counts next time. One row per test at most."""

    __tablename__ = "ci_quarantines"

    test_id: Mapped[int] = mapped_column(ForeignKey("ci_tests.id"), primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer, index=True)
    is_quarantined: Mapped[bool] = mapped_column(Boolean)
    quarantined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consecutive_passes: Mapped[int] = mapped_column(Integer)
    flaky_rate: Mapped[float] = mapped_column(Float)
    disruption_rate: Mapped[float] = mapped_column(Float)
    runs: Mapped[int] = mapped_column(Integer)
