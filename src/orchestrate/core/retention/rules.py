"""What a retention rule is: which rows it prunes, when, and what it must leave alone.

Every table that grows with use has one rule, declared by the capability that owns the
table (``<capability>/retention.py``) and listed by the composition root. A rule works
in three short steps per batch, so no transaction holds SQLite's write lock for long:

1. ``candidates`` (a read-only transaction): the keys of up to ``batch_size`` rows past
   a cursor, in key order, that are finished by their own state and older than the
   cutoff — e.g. runs that ended before it.
2. ``still_needed`` and the keepers (in the deleting transaction): which of those
   something live still refers to — a finished child run whose parent still runs, a
   delivery whose run is live. Another capability that refers to the rule's rows
   guards them with a :class:`Keeper`, so the owner need not know it exists.
3. ``delete`` (the same transaction): the rows among the rest that still qualify (the
   condition is checked again, since a row may have changed since step 1), children
   first so foreign keys hold on PostgreSQL. It returns what to remove from disk once
   the transaction has committed (step logs, leftover worktrees).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from orchestrate.core.uow import UnitOfWork

Key = str | int
"""A row's primary key: prefixed ULIDs (sortable by creation) or log sequence numbers."""

Cleanup = Callable[[], Awaitable[int]]
"""Removes the files of deleted rows after the commit; returns how many it removed."""

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class Deleted:
    """What one batch removed: rows of the rule's table, and the files still to go."""

    rows: int
    cleanup: Cleanup | None = None


class RetentionRule(ABC):
    """One kind of finished data and how to prune it (see the module docstring)."""

    name: str
    """Short and stable, printed by ``orchestrate db prune`` (``pipeline_runs``)."""
    setting: str
    """The ``Settings`` field holding its age (``retention_runs``)."""
    removes: str
    """What goes, for people: ``finished pipeline runs, their steps and step logs``."""
    batch_size: int = DEFAULT_BATCH
    """Rows of this table per transaction; smaller where each row has many children."""

    @abstractmethod
    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        """Keys after ``after`` (all when None), ascending, of up to ``limit`` rows that
        are finished and older than ``cutoff``. Fewer than ``limit`` means: no more."""

    async def still_needed(self, uow: UnitOfWork, keys: Sequence[Key]) -> set[Key]:
        """Of ``keys``, those something live of this capability still refers to."""
        del uow, keys
        return set()

    @abstractmethod
    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        """Delete the rows among ``keys`` that still qualify, and whatever depends on them."""


KeepCheck = Callable[[UnitOfWork, Sequence[Key]], Awaitable[set[Key]]]


@dataclass(frozen=True)
class Keeper:
    """Another capability's veto: rows of ``rule`` it still refers to from live work."""

    rule: str
    """The ``name`` of the rule whose rows this guards."""
    why: str
    """For people and logs: ``agents of pipeline steps still running``."""
    keep: KeepCheck
    """Of the keys given, those to keep (called in the deleting transaction)."""


@dataclass(frozen=True)
class Retention:
    """A capability's declarations: its own rules, and keepers guarding other rules' rows."""

    rules: tuple[RetentionRule, ...] = ()
    keepers: tuple[Keeper, ...] = ()
