"""Importing an OSV export into the database: streaming, in batches, upsert by id.

Records are read and parsed in a worker thread a batch at a time (parsing 50,000 JSON
documents must not block the event loop) while the previous batch is written. A record
replaces the stored one with its id only when its ``modified`` time is newer, so
importing an older export after a newer one changes nothing. The whole import is one
transaction: an export that fails half-way leaves the database as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from orchestrate.core.uow import UnitOfWork
from orchestrate.security.advisories import _store
from orchestrate.security.advisories.archive import (
    DEFAULT_LIMITS,
    ArchiveLimits,
    Document,
    read_documents,
)
from orchestrate.security.advisories.records import Advisory, RecordRejected, read_record

log = structlog.get_logger(__name__)

BATCH = 1_000
_REASONS_KEPT = 20


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did: records read, new, replaced by a newer version, already
    current, and skipped (with the first few reasons, ``member: why``)."""

    source: str
    records: int
    inserted: int
    updated: int
    unchanged: int
    skipped: int
    started_at: datetime
    finished_at: datetime
    skipped_reasons: tuple[str, ...] = ()
    parts: tuple[ImportSummary, ...] = ()
    """For an update of several ecosystems: each one's import."""

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass
class _Tally:
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.reasons) < _REASONS_KEPT:
            self.reasons.append(reason)


@dataclass(frozen=True, slots=True)
class _Batch:
    advisories: list[Advisory]
    skipped: list[str]


async def import_osv(
    uow: UnitOfWork,
    path: Path,
    *,
    source: str | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> ImportSummary:
    """Import the OSV export at ``path`` (an ``all.zip``, a folder of JSON or YAML records,
    or one record file). Raises ``ValidationFailed`` for a path that is no export or an
    archive over the limits; single bad records are skipped and counted."""
    started = uow.now()
    tally = _Tally()
    batches = _batches(read_documents(path, limits))
    async with uow:
        # The next batch is read and parsed in a thread while this one is written.
        pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
        try:
            while (batch := await pending) is not None:
                pending = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
                for reason in batch.skipped:
                    tally.skip(reason)
                await _write(uow, batch.advisories, tally, uow.now())
        finally:
            await asyncio.gather(pending, return_exceptions=True)
        finished = uow.now()
        summary = ImportSummary(
            source=source or str(path),
            records=tally.records,
            inserted=tally.inserted,
            updated=tally.updated,
            unchanged=tally.unchanged,
            skipped=tally.skipped,
            started_at=started,
            finished_at=finished,
            skipped_reasons=tuple(tally.reasons),
        )
        await _store.record_import(
            uow,
            {
                "source": summary.source[:1000],
                "started_at": started,
                "finished_at": finished,
                "records": summary.records,
                "inserted": summary.inserted,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "skipped": summary.skipped,
            },
        )
        await uow.commit()
    log.info(
        "osv_imported",
        source=summary.source,
        records=summary.records,
        inserted=summary.inserted,
        updated=summary.updated,
        skipped=summary.skipped,
        seconds=round(summary.seconds, 2),
    )
    return summary


async def _write(uow: UnitOfWork, advisories: list[Advisory], tally: _Tally, now: datetime) -> None:
    newest: dict[str, Advisory] = {}
    for advisory in advisories:  # the same id twice in one export: the newer wins
        tally.records += 1
        held = newest.get(advisory.id)
        if held is None or advisory.modified > held.modified:
            newest[advisory.id] = advisory
    tally.unchanged += len(advisories) - len(newest)
    stored = await _store.stored_modified(uow, list(newest))
    writing = [a for a in newest.values() if a.id not in stored or a.modified > stored[a.id]]
    replaced = [a.id for a in writing if a.id in stored]
    tally.unchanged += len(newest) - len(writing)
    tally.updated += len(replaced)
    tally.inserted += len(writing) - len(replaced)
    await _store.replace_advisories(uow, writing, replaced, now)


def _batches(documents: Iterator[Document]) -> Iterator[_Batch]:
    """Parsed records ``BATCH`` at a time; runs in a worker thread."""
    advisories: list[Advisory] = []
    skipped: list[str] = []
    for document in documents:
        if document.skipped is not None:
            skipped.append(f"{document.name}: {document.skipped}")
        else:
            try:
                advisories.append(read_record(document.content))
            except RecordRejected as error:
                skipped.append(f"{document.name}: {error}")
        if len(advisories) >= BATCH:
            yield _Batch(advisories, skipped)
            advisories, skipped = [], []
    if advisories or skipped:
        yield _Batch(advisories, skipped)
