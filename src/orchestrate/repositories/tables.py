"""Tables of the repository registry: the repositories, the dependencies declared, and
merge policies.

``repositories.name_key`` (the name case-folded) is unique: ``Octo/App`` and
``octo/app`` are one repository on GitHub and GitLab, so they are one here.
Declared dependencies name both ends by name key rather than by row id, so a
repository of the seed setting (which has no row) can be either end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, JSONDocument, UTCDateTime


class RepositoryRow(Base):
    """One registered repository: where its work tree is and where it came from."""

    __tablename__ = "repositories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    forge: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(4096))
    remote: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))
    default_branch: Mapped[str] = mapped_column(String(255))
    # True when Orchestrate cloned it into its cache, so removing it removes the clone.
    is_cloned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RepositoryDependencyRow(Base):
    """``repository`` depends on ``depends_on`` because a user said so (both name keys)."""

    __tablename__ = "repository_dependencies"

    repository: Mapped[str] = mapped_column(String(200), primary_key=True)
    depends_on: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MergePolicyRow(Base):
    """A registered repository's merge policy (``merge_policy.py``); none stored: the default.

    Keyed by the repository's name key, like declared dependencies; removing the
    repository removes its policy.
    """

    __tablename__ = "merge_policies"

    repository: Mapped[str] = mapped_column(String(200), primary_key=True)
    required_approvals: Mapped[int] = mapped_column(Integer)
    required_checks: Mapped[list[str]] = mapped_column(JSONDocument)
    method: Mapped[str] = mapped_column(String(20))
    auto_merge: Mapped[bool] = mapped_column(Boolean)
    require_up_to_date: Mapped[bool] = mapped_column(Boolean)
    count_stale_approvals: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))
