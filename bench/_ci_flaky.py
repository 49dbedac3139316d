"""The flaky-analysis half of bench/ci.py: a history of 1,000,000 test results.

A repository of 2,000 tests gets 500 recorded reports over the last 60 days — 450 tree
SHAs, 50 of them re-run as attempt 2 — written straight into the database through the
store's bulk insert: one result per test and report, 1,000,000 in all. 2% of the tests
are flaky (each run fails with 10% chance; half of those failures pass on a retry within
the run), 1% are broken for a stretch of 20 consecutive SHAs (failing, not flaky), a
few are skipped. Then ``ci.history.flaky_tests`` — the whole of ``orchestrate ci flaky
--repo`` minus printing: the SQL aggregation over the last 30 days (about half the
history), the flaky tree SHAs and quarantine state of each flaky test — is timed.

Target: under 1 s on SQLite and PostgreSQL.

    .venv/bin/python bench/ci.py --only flaky [--tests 2000] [--reports 500] [--repeat 5]
        [--engine sqlite|postgresql] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from _common import Database
from orchestrate.ci import _store as store
from orchestrate.ci import history
from orchestrate.core.db import create_database
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork

REPOSITORY = "acme/monorepo"
SPAN = timedelta(days=60)
BATCH = 20_000


def _plan(tests: int, reports: int, rng: random.Random) -> tuple[set[int], dict[int, range]]:
    flaky = set(rng.sample(range(tests), max(1, tests // 50)))
    broken: dict[int, range] = {}
    for test in rng.sample(sorted(set(range(tests)) - flaky), max(1, tests // 100)):
        start = rng.randrange(0, reports - 20)
        broken[test] = range(start, start + 20)
    return flaky, broken


async def load(url: str, tests: int, reports: int, seed: int = 7) -> tuple[int, float]:
    """Write the history; returns (results written, seconds)."""
    rng = random.Random(seed)
    flaky, broken = _plan(tests, reports, rng)
    database = create_database(url)
    started = time.perf_counter()
    written = 0
    now = datetime.now(UTC)
    try:
        uow = UnitOfWork(database)
        async with uow:
            repo_id = await store.intern_repository(uow, REPOSITORY, now - SPAN)
            ids = await store.intern_tests(
                uow, repo_id, [f"tests.mod{t // 50}::test_{t}" for t in range(tests)], now - SPAN
            )
            await uow.commit()
        test_ids = list(ids.values())
        shas = reports * 9 // 10
        reruns = set(rng.sample(range(shas), reports - shas))
        runs: list[tuple[int, int]] = []  # (sha index, attempt)
        for sha in range(shas):
            runs.append((sha, 1))
            if sha in reruns:
                runs.append((sha, 2))
        rows: list[dict[str, object]] = []
        for number, (sha, attempt) in enumerate(runs):
            at = now - SPAN + SPAN * (number + 0.5) / len(runs)
            uow = UnitOfWork(database)
            async with uow:
                tree_id = await store.intern_tree(uow, repo_id, f"{sha:040x}", at)
                for index, test_id in enumerate(test_ids):
                    passes, failures, status = 1, 0, 1
                    if index in flaky and attempt == 1 and rng.random() < 0.10:
                        failures, status = 1, 2
                        if rng.random() < 0.5:  # a retry within the run passed
                            passes, status = 1, 1
                        else:
                            passes = 0
                    elif index in broken and sha in broken[index]:
                        passes, failures, status = 0, 1, 3
                    elif index % 397 == 0:
                        passes, status = 0, 0  # skipped
                    rows.append(
                        {
                            "test_id": test_id,
                            "repository_id": repo_id,
                            "tree_id": tree_id,
                            "recorded_at": at,
                            "status": status,
                            "passes": passes,
                            "failures": failures,
                            "duration_ms": 40 + index % 300,
                        }
                    )
                run = await store.add_run(
                    uow,
                    repository_id=repo_id,
                    tree_id=tree_id,
                    attempt=attempt,
                    recorded_at=at,
                )
                for row in rows[-len(test_ids) :]:
                    row["run_id"] = run.id
                if len(rows) >= BATCH or number == len(runs) - 1:
                    await store.insert_results(uow, rows)
                    written += len(rows)
                    rows = []
                await uow.commit()
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            is_pg = database.engine.dialect.name == "postgresql"
            await autocommit.execute(text("VACUUM ANALYZE" if is_pg else "ANALYZE"))
    finally:
        await database.dispose()
    return written, time.perf_counter() - started


async def analyse(url: str, repeat: int) -> tuple[list[float], int, int]:
    database = create_database(url)
    settings = Settings()
    timings: list[float] = []
    found: list[history.FlakyTest] = []
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            found = await history.flaky_tests(
                UnitOfWork(database, read_only=True), settings, repository=REPOSITORY
            )
            timings.append(time.perf_counter() - started)
    finally:
        await database.dispose()
    shas = sum(len(test.flaky_shas) for test in found)
    return timings, len(found), shas


def flaky_analysis(kinds: list[str], postgres: str, tests: int, reports: int, repeat: int) -> None:
    """Load the history into a fresh database of each kind, then time the analysis."""
    for kind in kinds:
        database = Database(kind, postgres)
        try:
            written, load_s = asyncio.run(load(database.url, tests, reports))
            timings, flaky, shas = asyncio.run(analyse(database.url, repeat))
        finally:
            database.drop()
        print(
            f"{kind}: {written:,} results loaded in {load_s:.1f} s; flaky analysis of the "
            f"last 30 days: first {timings[0] * 1000:.0f} ms, median "
            f"{statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms "
            f"({flaky} flaky tests, {shas} flaky tree SHAs)"
        )
        sys.stdout.flush()
