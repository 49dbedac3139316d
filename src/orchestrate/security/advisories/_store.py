"""The SQL of the OSV database: batch upserts by id, lookups by package name, counts.

An import writes a batch of records in three statements whatever its size (read the
stored ``modified`` times, delete what is replaced, insert), because one statement per
record would make a 50,000-record export take minutes on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, tuple_

from orchestrate.core.uow import UnitOfWork
from orchestrate.security.advisories.ranges import AffectedPackage
from orchestrate.security.advisories.records import Advisory
from orchestrate.security.advisories.tables import OsvAdvisoryRow, OsvAffectedRow, OsvImportRow

_advisories: Table = OsvAdvisoryRow.__table__  # type: ignore[assignment]
_affected: Table = OsvAffectedRow.__table__  # type: ignore[assignment]
_imports: Table = OsvImportRow.__table__  # type: ignore[assignment]
_CHUNK = 500  # values per IN list: well under SQLite's and asyncpg's parameter limits


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


async def stored_modified(uow: UnitOfWork, ids: Sequence[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for chunk in _chunks(ids):
        rows = await uow.session.execute(
            select(_advisories.c.id, _advisories.c.modified).where(_advisories.c.id.in_(chunk))
        )
        found.update({str(row[0]): row[1] for row in rows})
    return found


async def replace_advisories(
    uow: UnitOfWork, advisories: Sequence[Advisory], replaced: Sequence[str], now: datetime
) -> None:
    """Delete the ``replaced`` ids with their packages, then insert ``advisories``."""
    for chunk in _chunks(replaced):
        await uow.session.execute(delete(_affected).where(_affected.c.advisory_id.in_(chunk)))
        await uow.session.execute(delete(_advisories).where(_advisories.c.id.in_(chunk)))
    if not advisories:
        return
    await uow.session.execute(insert(_advisories), [_advisory_row(a, now) for a in advisories])
    packages = [_affected_row(a.id, p) for a in advisories for p in a.affected]
    if packages:
        await uow.session.execute(insert(_affected), packages)


def _advisory_row(advisory: Advisory, now: datetime) -> dict[str, Any]:
    return {
        "id": advisory.id,
        "modified": advisory.modified,
        "published": advisory.published,
        "withdrawn": advisory.withdrawn,
        "aliases": list(advisory.aliases),
        "summary": advisory.summary,
        "details": advisory.details,
        "severity": advisory.severity.severity.value,
        "cvss_score": advisory.severity.score,
        "cvss_vector": advisory.severity.vector,
        "references": list(advisory.references),
        "imported_at": now,
    }


def _affected_row(advisory_id: str, package: AffectedPackage) -> dict[str, Any]:
    return {
        "advisory_id": advisory_id,
        "ecosystem": package.ecosystem,
        "name": package.name,
        "ranges": [
            {
                "type": version_range.type,
                "events": [{event.kind.value: event.version} for event in version_range.events],
            }
            for version_range in package.ranges
        ],
        "versions": list(package.versions),
    }


IMPORTS_KEPT = 100
"""Import rows kept: the status needs only the last; a few more tell a history."""


async def record_import(uow: UnitOfWork, row: dict[str, Any]) -> None:
    """Add one import's row, dropping all but the newest ``IMPORTS_KEPT``."""
    await uow.session.execute(insert(_imports).values(**row))
    c = _imports.c
    newest = select(c.id).order_by(c.id.desc()).limit(IMPORTS_KEPT).scalar_subquery()
    await uow.session.execute(delete(_imports).where(c.id.not_in(newest)))


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """An advisory that names a package, with that package's affected entry."""

    advisory_id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str
    cvss_score: float | None
    references: tuple[str, ...]
    ecosystem: str
    name: str
    ranges: list[Any]
    versions: list[Any]


async def advisories_naming(
    uow: UnitOfWork, packages: Sequence[tuple[str, str]]
) -> list[StoredMatch]:
    """Every entry of a live (not withdrawn) advisory for these (ecosystem, name) pairs."""
    a, p = _advisories.c, _affected.c
    found: list[StoredMatch] = []
    for chunk in _chunks(sorted(set(packages))):
        rows = await uow.session.execute(
            select(
                a.id,
                a.aliases,
                a.summary,
                a.severity,
                a.cvss_score,
                a.references,
                p.ecosystem,
                p.name,
                p.ranges,
                p.versions,
            )
            .join(_advisories, a.id == p.advisory_id)
            .where(tuple_(p.ecosystem, p.name).in_(chunk), a.withdrawn.is_(None))
            .order_by(a.id, p.id)
        )
        found.extend(
            StoredMatch(
                advisory_id=str(row[0]),
                aliases=tuple(str(alias) for alias in row[1] or ()),
                summary=str(row[2]),
                severity=str(row[3]),
                cvss_score=None if row[4] is None else float(row[4]),
                references=tuple(str(url) for url in row[5] or ()),
                ecosystem=str(row[6]),
                name=str(row[7]),
                ranges=list(row[8] or ()),
                versions=list(row[9] or ()),
            )
            for row in rows
        )
    return found


async def counts_per_ecosystem(uow: UnitOfWork) -> dict[str, int]:
    """Live advisories per ecosystem (an advisory on two ecosystems counts in each)."""
    a, p = _advisories.c, _affected.c
    rows = await uow.session.execute(
        select(p.ecosystem, func.count(func.distinct(p.advisory_id)))
        .join(_advisories, a.id == p.advisory_id)
        .where(a.withdrawn.is_(None))
        .group_by(p.ecosystem)
        .order_by(p.ecosystem)
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def advisory_totals(uow: UnitOfWork) -> tuple[int, int]:
    """(all advisories, withdrawn ones)."""
    a = _advisories.c
    row = (
        await uow.session.execute(
            select(func.count(), func.count(a.withdrawn)).select_from(_advisories)
        )
    ).one()
    return int(row[0]), int(row[1])


async def imports(uow: UnitOfWork) -> list[dict[str, Any]]:
    """The kept import rows, newest first."""
    c = _imports.c
    rows = await uow.session.execute(select(_imports).order_by(c.finished_at.desc(), c.id.desc()))
    return [dict(row._mapping) for row in rows]


async def last_import(uow: UnitOfWork) -> dict[str, Any] | None:
    c = _imports.c
    row = (
        await uow.session.execute(
            select(_imports).order_by(c.finished_at.desc(), c.id.desc()).limit(1)
        )
    ).first()
    return None if row is None else dict(row._mapping)
