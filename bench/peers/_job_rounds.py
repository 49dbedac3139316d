"""What the two job-queue comparisons share: our round, the table's rows, the options.

Our round is bench/jobs.py's out-of-process scenario as it is — a fresh migrated
database, real worker processes (bench/_job_worker.py, default worker settings: batch 32,
concurrency 32 per process), ``--jobs`` empty jobs enqueued in one commit, then
``--latency-samples`` single jobs on an idle queue — so the peer drivers copy its method,
not the other way round.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import Row, Sample

import jobs as our_jobs  # bench/jobs.py

ROWS = [
    Row("throughput, empty jobs (jobs/s)", "jobs_per_second", "jobs_per_second", True, 0),
    Row("enqueue→start latency p50 (ms)", "p50_ms", "p50_ms", False),
    Row("enqueue→start latency p99 (ms)", "p99_ms", "p99_ms", False),
]


def parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds a peer's round may take"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"),
        help="server URL (postgresql+asyncpg://…)",
    )
    return parser


def driver_timeout(args: argparse.Namespace) -> float:
    """Generous: a peer as slow as 100 jobs/s and 0.5 s a sample still fits."""
    if args.timeout:
        return float(args.timeout)
    return 120 + float(args.jobs) / 100 + float(args.latency_samples) / 2


def our_round(kind: str, workers: int, args: argparse.Namespace) -> Sample:
    result = our_jobs.run_out_of_process(kind, workers, args)
    return {
        "jobs_per_second": result.jobs_per_second,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
    }
