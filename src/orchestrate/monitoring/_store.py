"""The monitoring capability's SQL: the health check's round trip, the metric totals,
the event counts the dashboard charts.

The job queue's views are ``core.jobs``'; this module holds only what monitoring asks
of the database itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orchestrate.core.events import count_events_by_hour
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.tables import MetricCounterRow

_COUNTERS: Table = MetricCounterRow.__table__  # type: ignore[assignment]


async def ping(uow: UnitOfWork) -> None:
    """One round trip to the database; raises whatever the driver raises when it is down."""
    await uow.session.execute(text("SELECT 1"))


async def add_increments(uow: UnitOfWork, increments: Mapping[tuple[str, str], float]) -> None:
    """Add each ``(sample, labels) -> amount`` to its stored total, creating it at 0.

    One statement for the whole batch, one row per sample (an upsert on both engines).
    """
    if not increments:
        return
    now = uow.now()
    rows: list[dict[str, Any]] = [
        {"sample": sample, "labels": labels, "value": amount, "updated_at": now}
        for (sample, labels), amount in sorted(increments.items())  # one lock order
    ]
    dialect = uow.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = dialect_insert(_COUNTERS)
    statement = statement.on_conflict_do_update(
        index_elements=["sample", "labels"],
        set_={
            "value": _COUNTERS.c.value + statement.excluded.value,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await uow.session.execute(statement, rows)


async def metric_totals(uow: UnitOfWork) -> dict[tuple[str, str], float]:
    """Every stored sample's total, by ``(sample, labels)``."""
    rows = await uow.session.execute(
        select(MetricCounterRow.sample, MetricCounterRow.labels, MetricCounterRow.value)
    )
    return {(sample, labels): float(value) for sample, labels, value in rows.all()}


async def event_counts_by_hour(
    uow: UnitOfWork, types: Sequence[str], since: datetime
) -> list[tuple[str, datetime, int]]:
    """Events of ``types`` per UTC hour since ``since`` (``core.events``' one GROUP BY)."""
    return await count_events_by_hour(uow.session, types, since)
