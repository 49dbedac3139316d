"""Ours against pgqueuer: empty jobs on PostgreSQL, 4 worker processes, alternating rounds.

Both are PostgreSQL-only job queues woken by LISTEN/NOTIFY, so the same work on the same
server compares their engines: throughput with an empty handler (``--jobs`` enqueued in
one commit onto idle workers; the clock runs until every job's completion is recorded)
and enqueue→start latency on an idle queue (p50, p99 over ``--latency-samples``). Each
round gets a fresh database, dropped afterwards. Our side is bench/jobs.py's
"PostgreSQL, 4 worker processes" scenario; pgqueuer's is _pgqueuer_driver.py (its
settings are in that file's docstring), run by its own venv (_venvs.py).

    .venv/bin/python bench/peers/jobs_postgres.py [--rounds 3] [--jobs 20000]
        [--latency-samples 300] [--workers 4] [--pgqueuer-batch-size 250]
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

Prints a Markdown table: medians per side and ours/theirs ratios.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import Sample, Side, alternate, plain_dsn, print_report, run_driver
from _job_rounds import ROWS, driver_timeout, our_round, parser
from _venvs import ensure

from _common import Database


def pgqueuer_round(python: Path, args: argparse.Namespace) -> Sample:
    database = Database("postgresql", args.postgres, migrate=False)
    try:
        arguments = ["measure", "--dsn", plain_dsn(database.url), "--workers", str(args.workers)]
        arguments += ["--jobs", str(args.jobs), "--latency-samples", str(args.latency_samples)]
        arguments += ["--batch-size", str(args.pgqueuer_batch_size)]
        return run_driver(python, "_pgqueuer_driver.py", arguments, driver_timeout(args))
    finally:
        database.drop()


def main() -> None:
    options = parser(__doc__.splitlines()[0])
    options.add_argument("--workers", type=int, default=4, help="worker processes per side")
    options.add_argument("--pgqueuer-batch-size", type=int, default=250)
    args = options.parse_args()
    if not args.postgres:
        options.error("--postgres (or ORCHESTRATE_TEST_POSTGRES_URL) is required")
    python = ensure("pgqueuer")
    sides = [
        Side("ours", lambda: our_round("postgresql", args.workers, args)),
        Side("pgqueuer", lambda: pgqueuer_round(python, args)),
    ]
    results = alternate(args.rounds, sides)
    details = (
        f"PostgreSQL, {args.workers} worker processes per side; {args.jobs} jobs, "
        f"{args.latency_samples} latency samples; pgqueuer batch size {args.pgqueuer_batch_size}"
    )
    print_report("Ours vs pgqueuer 1.6.0", details, "pgqueuer", ROWS, results)


if __name__ == "__main__":
    main()
