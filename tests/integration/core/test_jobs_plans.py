"""The queue's own queries keep to their indexes however many finished jobs there are.

With a million finished jobs and fresh statistics (``ANALYZE``, as SQLite's recommended
``PRAGMA optimize`` and PostgreSQL's autovacuum run it), a planner that judged an index
on ``status`` by its average rows per status could scan the whole table for every
claim. The claim, the next-due read and the reclaim of expired leases each use a partial
index on the queued (or running) jobs: checked here with the planner's own ``EXPLAIN``,
on the statements exactly as the queue sends them. Timings are bench/jobs.py's business.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from orchestrate.core.jobs.queue import claim_due_jobs, next_due_at, reclaim_expired_leases
from orchestrate.core.runtime import Runtime

FINISHED = 1_000_000
SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO jobs (id, kind, payload, status, priority, attempts, max_attempts, run_at,
                  created_at, updated_at, started_at, finished_at)
SELECT 'job_done_' || i, 'agents.run', '{}', 'succeeded', 0, 1, 3, :at, :at, :at, :at, :at
FROM n
"""
POSTGRES_FILL = """
INSERT INTO jobs (id, kind, payload, status, priority, attempts, max_attempts, run_at,
                  created_at, updated_at, started_at, finished_at)
SELECT 'job_done_' || i, 'agents.run', '{}', 'succeeded', 0, 1, 3, :at, :at, :at, :at, :at
FROM generate_series(1, :count) AS i
"""


async def fill_with_finished_jobs_and_analyze(runtime: Runtime) -> None:
    postgres = runtime.database.dialect == "postgresql"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    async with runtime.uow() as uow:
        await uow.session.execute(
            text(POSTGRES_FILL if postgres else SQLITE_FILL),
            {"count": FINISHED, "at": at if postgres else at.strftime("%Y-%m-%d %H:%M:%S.%f")},
        )
        await uow.session.execute(text("ANALYZE jobs" if postgres else "ANALYZE"))
        await uow.commit()


async def plan_of(runtime: Runtime, send: Callable[[Any], Awaitable[object]]) -> str:
    """The plan the database chooses for the statement ``send`` makes the queue run.

    On PostgreSQL, the *generic* plan: the one a prepared statement (asyncpg prepares
    every statement) may settle on after five executions, which cannot count on the
    values bound — a plan that needs them to use an index would scan after the fifth.
    """
    sent: list[tuple[str, Any]] = []
    engine = runtime.database.engine.sync_engine

    def capture(*args: Any) -> None:
        sent.append((args[2], args[3]))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with runtime.uow() as uow:
            await send(uow.session)  # nothing is queued or running: it changes nothing
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = [(s, p) for s, p in sent if "jobs" in s]
    async with runtime.uow(read_only=True) as uow:
        connection = await uow.session.connection()
        if runtime.database.dialect != "postgresql":
            rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in rows)
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SET plan_cache_mode = force_generic_plan")
        await raw.execute(f"PREPARE planned AS {statement}")
        try:
            values = ", ".join(_literal(value) for value in parameters)
            lines = await raw.fetch(f"EXPLAIN EXECUTE planned({values})")
        finally:
            await raw.execute("DEALLOCATE planned")
            await raw.execute("RESET plan_cache_mode")
        return "\n".join(line[0] for line in lines)


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def assert_uses(plan: str, *indexes: str) -> None:
    """One of ``indexes`` finds the rows; the table is not scanned."""
    assert any(index in plan for index in indexes), plan
    assert "Seq Scan on jobs" not in plan, plan
    assert "SCAN jobs" not in plan.replace("SCAN jobs USING", ""), plan


async def test_claims_and_reclaims_use_their_indexes_among_a_million_finished_jobs(
    runtime: Runtime,
) -> None:
    await fill_with_finished_jobs_and_analyze(runtime)
    now = datetime.now(UTC)

    claim = await plan_of(
        runtime,
        lambda session: claim_due_jobs(
            session,
            owner="w",
            kinds=["agents.run", "pipelines.step"],
            limit=32,
            now=now,
            lease=timedelta(seconds=30),
        ),
    )
    # PostgreSQL's statistics also know how rare 'queued' and 'running' rows are, so it
    # may as well take the status index; what it must not do is scan the table.
    on_status = ("ix_jobs_status_kind",) if runtime.database.dialect == "postgresql" else ()
    assert_uses(claim, "ix_jobs_queued_kind_run_at", *on_status)

    due = await plan_of(
        runtime, lambda session: next_due_at(session, kinds=["agents.run", "pipelines.step"])
    )
    assert_uses(due, "ix_jobs_queued_kind_run_at", *on_status)

    reclaim = await plan_of(runtime, lambda session: reclaim_expired_leases(session, now=now))
    assert_uses(reclaim, "ix_jobs_running_lease_expires_at", *on_status)
