"""How much the offline OSV database knows and how fresh it is (``security db status``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from orchestrate.core.uow import UnitOfWork
from orchestrate.security.advisories import _store


@dataclass(frozen=True, slots=True)
class LastImport:
    source: str
    finished_at: datetime
    records: int
    inserted: int
    updated: int
    skipped: int


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    """How much the offline database knows and how fresh it is."""

    advisories: int
    withdrawn: int
    per_ecosystem: Mapping[str, int]
    last_import: LastImport | None

    @property
    def is_empty(self) -> bool:
        return self.advisories == 0


async def database_status(uow: UnitOfWork) -> DatabaseStatus:
    async with uow:
        total, withdrawn = await _store.advisory_totals(uow)
        per_ecosystem = await _store.counts_per_ecosystem(uow)
        last = await _store.last_import(uow)
    return DatabaseStatus(
        advisories=total,
        withdrawn=withdrawn,
        per_ecosystem=per_ecosystem,
        last_import=None
        if last is None
        else LastImport(
            source=str(last["source"]),
            finished_at=last["finished_at"],
            records=int(last["records"]),
            inserted=int(last["inserted"]),
            updated=int(last["updated"]),
            skipped=int(last["skipped"]),
        ),
    )
