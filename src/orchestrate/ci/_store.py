"""The SQL of the CI test history and of the quarantine.

Flakiness is aggregated in the database in two steps — per (test, tree SHA), then per
test — over the covering index ``ix_ci_test_results_window`` (repository, time, test,
tree, passes, failures), so a month of a busy repository is read without touching the
table and only the flaky tests come back to Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from orchestrate.ci.flaky import Quarantine, TestTally
from orchestrate.ci.models import TestStatus
from orchestrate.ci.tables import (
    CiQuarantineRow,
    CiRepositoryRow,
    CiTestResultRow,
    CiTestRow,
    CiTestRunRow,
    CiTreeRow,
)
from orchestrate.core.uow import UnitOfWork

_repositories: Table = CiRepositoryRow.__table__  # type: ignore[assignment]
_tests: Table = CiTestRow.__table__  # type: ignore[assignment]
_trees: Table = CiTreeRow.__table__  # type: ignore[assignment]
_runs: Table = CiTestRunRow.__table__  # type: ignore[assignment]
_results: Table = CiTestResultRow.__table__  # type: ignore[assignment]
_quarantines: Table = CiQuarantineRow.__table__  # type: ignore[assignment]

STATUS_CODES = {
    TestStatus.SKIPPED: 0,
    TestStatus.PASSED: 1,
    TestStatus.FAILED: 2,
    TestStatus.ERROR: 3,
}
_HAS_FAILED = literal_column("failures") > literal_column("0")
"""Spelled literally, so both databases match it to the partial index's predicate."""
_CHUNK = 500  # ids per IN list: well under SQLite's and asyncpg's parameter limits


def _dialect_insert(uow: UnitOfWork, table: Table) -> Any:
    dialect = uow.session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# --- interned names -------------------------------------------------------------------


async def find_repository_id(uow: UnitOfWork, name: str) -> int | None:
    found = await uow.session.scalar(select(_repositories.c.id).where(_repositories.c.name == name))
    return None if found is None else int(found)


async def repositories(uow: UnitOfWork) -> list[tuple[int, str]]:
    rows = await uow.session.execute(
        select(_repositories.c.id, _repositories.c.name).order_by(_repositories.c.name)
    )
    return [(int(row[0]), str(row[1])) for row in rows]


async def intern_repository(uow: UnitOfWork, name: str, now: datetime) -> int:
    await uow.session.execute(
        _dialect_insert(uow, _repositories)
        .values(name=name, created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    found = await find_repository_id(uow, name)
    assert found is not None
    return found


async def find_tree_id(uow: UnitOfWork, repository_id: int, tree_sha: str) -> int | None:
    c = _trees.c
    found = await uow.session.scalar(
        select(c.id).where(c.repository_id == repository_id, c.tree_sha == tree_sha)
    )
    return None if found is None else int(found)


async def intern_tree(uow: UnitOfWork, repository_id: int, tree_sha: str, now: datetime) -> int:
    await uow.session.execute(
        _dialect_insert(uow, _trees)
        .values(repository_id=repository_id, tree_sha=tree_sha, first_seen_at=now)
        .on_conflict_do_nothing(index_elements=["repository_id", "tree_sha"])
    )
    found = await find_tree_id(uow, repository_id, tree_sha)
    assert found is not None
    return found


async def test_ids(
    uow: UnitOfWork, repository_id: int, identities: Sequence[str]
) -> dict[str, int]:
    c = _tests.c
    found: dict[str, int] = {}
    for chunk in _chunks(identities):
        rows = await uow.session.execute(
            select(c.identity, c.id).where(c.repository_id == repository_id, c.identity.in_(chunk))
        )
        found.update((str(row[0]), int(row[1])) for row in rows)
    return found


async def intern_tests(
    uow: UnitOfWork, repository_id: int, identities: Sequence[str], now: datetime
) -> dict[str, int]:
    """The id of each test identity, adding those not seen before."""
    known = await test_ids(uow, repository_id, identities)
    missing = [identity for identity in identities if identity not in known]
    if missing:
        statement = _dialect_insert(uow, _tests).on_conflict_do_nothing(
            index_elements=["repository_id", "identity"]
        )
        await uow.session.execute(
            statement,
            [{"repository_id": repository_id, "identity": i, "created_at": now} for i in missing],
        )
        known.update(await test_ids(uow, repository_id, missing))
    return known


# --- runs and results -----------------------------------------------------------------


@dataclass(frozen=True)
class StoredRun:
    id: int
    recorded_at: datetime


async def find_run(uow: UnitOfWork, tree_id: int, attempt: int) -> StoredRun | None:
    c = _runs.c
    row = (
        await uow.session.execute(
            select(c.id, c.recorded_at).where(c.tree_id == tree_id, c.attempt == attempt)
        )
    ).first()
    return None if row is None else StoredRun(int(row[0]), row[1])


async def add_run(
    uow: UnitOfWork, *, repository_id: int, tree_id: int, attempt: int, recorded_at: datetime
) -> StoredRun:
    """The run of (tree, attempt), added without results when there is none yet; the
    shards of one CI attempt may record at the same moment, so a run another
    transaction added first is the one returned."""
    await uow.session.execute(
        _dialect_insert(uow, _runs)
        .values(
            repository_id=repository_id,
            tree_id=tree_id,
            attempt=attempt,
            recorded_at=recorded_at,
            tests=0,
            failed=0,
        )
        .on_conflict_do_nothing(index_elements=["tree_id", "attempt"])
    )
    found = await find_run(uow, tree_id, attempt)
    assert found is not None
    return found


async def forget_results(uow: UnitOfWork, run_id: int, tests: Sequence[int]) -> set[int]:
    """Delete these tests' results of the run before they are written again; returns
    the tests that had some."""
    r = _results.c
    forgotten: set[int] = set()
    for chunk in _chunks(tests):
        deleted = await uow.session.execute(
            delete(_results).where(r.run_id == run_id, r.test_id.in_(chunk)).returning(r.test_id)
        )
        forgotten.update(int(test_id) for test_id in deleted.scalars())
    return forgotten


async def count_run(uow: UnitOfWork, run_id: int) -> None:
    """Set a run's counts of tests and failed tests from its results."""
    r = _results.c
    of_run = r.run_id == _runs.c.id
    await uow.session.execute(
        update(_runs)
        .where(_runs.c.id == run_id)
        .values(
            tests=select(func.count()).where(of_run).scalar_subquery(),
            failed=select(func.count()).where(of_run, r.failures > 0).scalar_subquery(),
        )
    )


async def failed_on_tree(uow: UnitOfWork, tree_id: int, tests: Sequence[int]) -> set[int]:
    """Of ``tests``, those with a failed try on this tree in any run."""
    r = _results.c
    found: set[int] = set()
    for chunk in _chunks(tests):
        rows = await uow.session.scalars(
            select(r.test_id)
            .where(r.test_id.in_(chunk), r.tree_id == tree_id, r.failures > 0)
            .distinct()
        )
        found.update(int(test_id) for test_id in rows)
    return found


async def insert_results(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of ``ci_test_results`` in one executemany (the benchmark's bulk path too)."""
    if rows:
        await uow.session.execute(insert(_results), list(rows))


# --- the window -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredTally:
    test_id: int
    identity: str
    tally: TestTally
    last_seen: datetime


def _per_tree(repository_id: int, since: datetime, tests: Sequence[int] | None) -> Any:
    r = _results.c
    statement = select(
        r.test_id,
        r.tree_id,
        func.count().label("runs"),
        func.sum(case((r.failures > 0, 1), else_=0)).label("failed_runs"),
        func.sum(r.passes).label("passes"),
        func.max(r.recorded_at).label("last_seen"),
    ).where(r.repository_id == repository_id, r.recorded_at >= since, r.passes + r.failures > 0)
    if tests is not None:
        statement = statement.where(r.test_id.in_(tests))
    return statement.group_by(r.test_id, r.tree_id).subquery("per_tree")


async def flaky_test_ids(uow: UnitOfWork, repository_id: int, since: datetime) -> list[int]:
    """The tests that both passed and failed on one tree since ``since``: the trees each
    test failed on come from the partial index of failures, and a pass on that tree is
    one seek in the test's index per (test, tree)."""
    r = _results.c
    failed = (
        select(r.test_id, r.tree_id)
        .where(r.repository_id == repository_id, r.recorded_at >= since, _HAS_FAILED)
        .distinct()
        .subquery("failed")
    )
    passed = aliased(_results, name="passed")
    statement = (
        select(failed.c.test_id)
        .where(
            exists().where(
                passed.c.test_id == failed.c.test_id,
                passed.c.tree_id == failed.c.tree_id,
                passed.c.recorded_at >= since,
                passed.c.passes > 0,
            )
        )
        .distinct()
    )
    return [int(test_id) for test_id in (await uow.session.scalars(statement)).all()]


async def window_tallies(
    uow: UnitOfWork,
    repository_id: int,
    since: datetime,
    *,
    tests: Sequence[int] | None = None,
    only_flaky: bool = False,
) -> list[StoredTally]:
    """Per test since ``since``: runs, failed runs, flaky failures (failed runs on a tree
    where it also passed), last seen — aggregated in SQL."""
    if tests is None and only_flaky:
        tests = await flaky_test_ids(uow, repository_id, since)
    if tests is not None and not tests:
        return []
    repository_runs = await count_runs(uow, repository_id, since)
    found: list[StoredTally] = []
    for chunk in [None] if tests is None else _chunks(tests):
        rows = await uow.session.execute(_tallies(repository_id, since, chunk, only_flaky))
        found.extend(
            StoredTally(
                test_id=int(row.test_id),
                identity=str(row.identity),
                tally=TestTally(
                    runs=int(row.runs),
                    failed_runs=int(row.failed_runs),
                    flaky_failures=int(row.flaky_failures),
                    repository_runs=repository_runs,
                ),
                last_seen=row.last_seen,
            )
            for row in rows
        )
    return found


def _tallies(
    repository_id: int, since: datetime, tests: Sequence[int] | None, only_flaky: bool
) -> Any:
    per_tree = _per_tree(repository_id, since, tests)
    flaky_failures = func.sum(case((per_tree.c.passes > 0, per_tree.c.failed_runs), else_=0))
    per_test = (
        select(
            per_tree.c.test_id,
            func.sum(per_tree.c.runs).label("runs"),
            func.sum(per_tree.c.failed_runs).label("failed_runs"),
            flaky_failures.label("flaky_failures"),
            func.max(per_tree.c.last_seen).label("last_seen"),
        )
        .group_by(per_tree.c.test_id)
        .subquery("per_test")
    )
    statement = select(per_test, _tests.c.identity).join(_tests, _tests.c.id == per_test.c.test_id)
    if only_flaky:
        statement = statement.where(per_test.c.flaky_failures > 0)
    return statement


async def count_runs(uow: UnitOfWork, repository_id: int, since: datetime) -> int:
    c = _runs.c
    statement = select(func.count()).where(c.repository_id == repository_id, c.recorded_at >= since)
    return int(await uow.session.scalar(statement) or 0)


async def flaky_trees(
    uow: UnitOfWork, repository_id: int, since: datetime, tests: Sequence[int]
) -> dict[int, list[tuple[str, datetime]]]:
    """For each of ``tests``, the tree SHAs where it both passed and failed since
    ``since``, with when it was last seen there, most recent first."""
    r = _results.c
    found: dict[int, list[tuple[str, datetime]]] = {}
    for chunk in _chunks(tests):
        last = func.max(r.recorded_at)
        rows = await uow.session.execute(
            select(r.test_id, _trees.c.tree_sha, last)
            .join(_trees, _trees.c.id == r.tree_id)
            .where(r.repository_id == repository_id, r.recorded_at >= since, r.test_id.in_(chunk))
            .group_by(r.test_id, r.tree_id, _trees.c.tree_sha)
            .having(and_(func.sum(r.passes) > 0, func.sum(r.failures) > 0))
            .order_by(r.test_id, last.desc())
        )
        for test_id, sha, at in rows:
            found.setdefault(int(test_id), []).append((str(sha), at))
    return found


@dataclass(frozen=True)
class TreeOutcome:
    test_id: int
    tree_id: int
    tree_sha: str
    passes: int
    failures: int


async def tree_outcomes(
    uow: UnitOfWork, repository_id: int, since: datetime, tests: Sequence[int]
) -> list[TreeOutcome]:
    """Each test's passes and failures per tree since ``since``, trees in first-seen order."""
    r = _results.c
    found: list[TreeOutcome] = []
    for chunk in _chunks(tests):
        rows = await uow.session.execute(
            select(
                r.test_id, r.tree_id, _trees.c.tree_sha, func.sum(r.passes), func.sum(r.failures)
            )
            .join(_trees, _trees.c.id == r.tree_id)
            .where(r.repository_id == repository_id, r.recorded_at >= since, r.test_id.in_(chunk))
            .group_by(r.test_id, r.tree_id, _trees.c.tree_sha)
            .order_by(r.test_id, r.tree_id)
        )
        found.extend(
            TreeOutcome(int(row[0]), int(row[1]), str(row[2]), int(row[3]), int(row[4]))
            for row in rows
        )
    return found


# --- quarantine -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredQuarantine:
    test_id: int
    quarantine: Quarantine


def _quarantine_query() -> Any:
    q = _quarantines.c
    return (
        select(_quarantines, _tests.c.identity, _repositories.c.name)
        .join(_tests, _tests.c.id == q.test_id)
        .join(_repositories, _repositories.c.id == q.repository_id)
    )


def _quarantine(row: Any) -> StoredQuarantine:
    return StoredQuarantine(
        int(row.test_id),
        Quarantine(
            repository=str(row.name),
            identity=str(row.identity),
            is_quarantined=bool(row.is_quarantined),
            quarantined_at=row.quarantined_at,
            released_at=row.released_at,
            consecutive_passes=int(row.consecutive_passes),
            flaky_rate=float(row.flaky_rate),
            disruption_rate=float(row.disruption_rate),
            runs=int(row.runs),
        ),
    )


async def quarantines_of(uow: UnitOfWork, tests: Sequence[int]) -> dict[int, StoredQuarantine]:
    found: dict[int, StoredQuarantine] = {}
    for chunk in _chunks(tests):
        rows = await uow.session.execute(
            _quarantine_query().where(_quarantines.c.test_id.in_(chunk))
        )
        found.update((stored.test_id, stored) for stored in map(_quarantine, rows))
    return found


async def list_quarantines(
    uow: UnitOfWork, repository_id: int | None, *, include_released: bool
) -> list[Quarantine]:
    q = _quarantines.c
    statement = _quarantine_query().order_by(_repositories.c.name, _tests.c.identity)
    if repository_id is not None:
        statement = statement.where(q.repository_id == repository_id)
    if not include_released:
        statement = statement.where(q.is_quarantined.is_(True))
    return [_quarantine(row).quarantine for row in await uow.session.execute(statement)]


async def put_quarantine(
    uow: UnitOfWork, test_id: int, repository_id: int, tally: TestTally, now: datetime
) -> None:
    values = {
        "is_quarantined": True,
        "quarantined_at": now,
        "released_at": None,
        "consecutive_passes": 0,
        "flaky_rate": tally.flaky_rate,
        "disruption_rate": tally.disruption_rate,
        "runs": tally.runs,
    }
    statement = _dialect_insert(uow, _quarantines).values(
        test_id=test_id, repository_id=repository_id, **values
    )
    await uow.session.execute(
        statement.on_conflict_do_update(index_elements=["test_id"], set_=values)
    )


async def set_passes(uow: UnitOfWork, test_id: int, passes: int) -> None:
    await uow.session.execute(
        update(_quarantines)
        .where(_quarantines.c.test_id == test_id)
        .values(consecutive_passes=passes)
    )


async def release(uow: UnitOfWork, test_id: int, passes: int, now: datetime) -> None:
    await uow.session.execute(
        update(_quarantines)
        .where(_quarantines.c.test_id == test_id)
        .values(is_quarantined=False, released_at=now, consecutive_passes=passes)
    )


# --- retention ------------------------------------------------------------------------


async def runs_recorded_before(
    uow: UnitOfWork, cutoff: datetime, *, after: int | None, limit: int
) -> list[int]:
    c = _runs.c
    statement = select(c.id).where(c.recorded_at < cutoff).order_by(c.id).limit(limit)
    if after is not None:
        statement = statement.where(c.id > after)
    return [int(run_id) for run_id in (await uow.session.scalars(statement)).all()]


async def delete_runs(uow: UnitOfWork, run_ids: Sequence[int], cutoff: datetime) -> int:
    """Delete these runs (those still older than ``cutoff``) with their results, and the
    tree SHAs no run refers to any more."""
    c = _runs.c
    doomed = select(c.id).where(c.id.in_(run_ids), c.recorded_at < cutoff)
    ids = [int(run_id) for run_id in (await uow.session.scalars(doomed)).all()]
    if not ids:
        return 0
    trees = (await uow.session.scalars(select(c.tree_id).where(c.id.in_(ids)).distinct())).all()
    await uow.session.execute(delete(_results).where(_results.c.run_id.in_(ids)))
    await uow.session.execute(delete(_runs).where(c.id.in_(ids)))
    await uow.session.execute(
        delete(_trees).where(
            _trees.c.id.in_(list(trees)), ~exists().where(c.tree_id == _trees.c.id)
        )
    )
    return len(ids)
