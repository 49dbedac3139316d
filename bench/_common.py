"""What the benchmarks share: a description of the machine, a fresh database, percentiles."""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import statistics
import tempfile
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from orchestrate.core.migrate import upgrade_to_head


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


class Database:
    """A fresh, migrated database for one scenario (empty with ``migrate=False``)."""

    def __init__(self, kind: str, postgres_url: str | None, *, migrate: bool = True) -> None:
        self.kind = kind
        self._server = postgres_url
        self._tmp = tempfile.TemporaryDirectory()
        if kind == "sqlite":
            self.url = f"sqlite+aiosqlite:///{self._tmp.name}/bench.db"
        else:
            assert postgres_url
            self.name = f"orch_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
            self.url = make_url(postgres_url).set(database=self.name).render_as_string(False)
        if migrate:
            upgrade_to_head(self.url)

    async def _admin(self, statement: str) -> None:
        assert self._server
        dsn = make_url(self._server).set(drivername="postgresql").render_as_string(False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def drop(self) -> None:
        if self.kind == "postgresql":
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._tmp.cleanup()


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[pct - 1]
