"""Importing an OSV export: a generated 50,000-record ``all.zip`` into a fresh database.

Each record is shaped like a real GHSA/PYSEC one: two aliases, a summary, ~600 characters
of details, a CVSS v3 vector (scored at import), one or two affected packages with an
ECOSYSTEM range and a list of ten versions, and three references. The zip is written
first (not timed); then ``security.advisories.import_osv`` — reading, parsing, scoring
and batch-inserting — is timed, followed by a re-import of the same zip (every record
unchanged) and a match of 2,000 dependencies.

    .venv/bin/python bench/osv_import.py [--records 50000] [--engine sqlite|postgresql]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import zipfile
from pathlib import Path

from _common import Database, machine
from orchestrate.core.db import create_database
from orchestrate.core.uow import UnitOfWork
from orchestrate.security.advisories import find_vulnerabilities, import_osv
from orchestrate.security.models import Dependency, Ecosystem

ECOSYSTEMS = ("PyPI", "npm", "crates.io", "Go")
VECTORS = (
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N",
)


def make_record(number: int, rng: random.Random) -> dict[str, object]:
    ecosystem = ECOSYSTEMS[number % len(ECOSYSTEMS)]
    affected = []
    for offset in range(1 + number % 2):
        fixed_minor = rng.randint(1, 30)
        affected.append(
            {
                "package": {"ecosystem": ecosystem, "name": f"package-{(number + offset) % 20000}"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": f"1.{fixed_minor}.0"}],
                    }
                ],
                "versions": [f"1.{minor}.0" for minor in range(min(fixed_minor, 10))],
            }
        )
    return {
        "schema_version": "1.6.0",
        "id": f"GHSA-bench-{number:06d}",
        "modified": "2024-05-01T12:00:00Z",
        "published": "2024-04-01T12:00:00Z",
        "aliases": [f"CVE-2024-{number:05d}", f"PYSEC-2024-{number}"],
        "summary": f"Vulnerability {number} in a package",
        "details": "An attacker can do harmful things with crafted input. " * 11,
        "severity": [{"type": "CVSS_V3", "score": VECTORS[number % len(VECTORS)]}],
        "affected": affected,
        "references": [
            {"type": "ADVISORY", "url": f"https://example.com/advisories/{number}"},
            {"type": "FIX", "url": f"https://example.com/fix/{number}"},
            {"type": "WEB", "url": f"https://example.com/web/{number}"},
        ],
        "database_specific": {"severity": "HIGH", "github_reviewed": True},
    }


def write_export(path: Path, records: int) -> None:
    rng = random.Random(17)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number in range(records):
            archive.writestr(f"GHSA-bench-{number:06d}.json", json.dumps(make_record(number, rng)))


async def run(url: str, export: Path, records: int) -> None:
    database = create_database(url)
    try:
        started = time.perf_counter()
        summary = await import_osv(UnitOfWork(database), export)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = await import_osv(UnitOfWork(database), export)
        second = time.perf_counter() - started
        dependencies = [
            Dependency(Ecosystem(ECOSYSTEMS[n % 4]), f"package-{n * 7 % 20000}", "1.0.0", "lock")
            for n in range(2000)
        ]
        started = time.perf_counter()
        findings = await find_vulnerabilities(UnitOfWork(database), dependencies)
        matching = time.perf_counter() - started
    finally:
        await database.dispose()
    print(f"first import: {summary.inserted} records in {first:.1f} s", end=" ")
    print(f"= {records / first:,.0f} records/s")
    print(f"re-import (all unchanged: {again.unchanged}): {second:.1f} s", end=" ")
    print(f"= {records / second:,.0f} records/s")
    print(f"matching 2,000 dependencies: {len(findings)} findings in {matching * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "all.zip"
        write_export(export, args.records)
        size = export.stat().st_size / 1e6
        print(f"{args.engine}: export of {args.records} records, {size:.1f} MB zipped")
        database = Database(args.engine, args.postgres if args.engine == "postgresql" else None)
        try:
            asyncio.run(run(database.url, export, args.records))
        finally:
            database.drop()


if __name__ == "__main__":
    main()
