"""Ours against huey (SqliteHuey): empty jobs on SQLite, 1 worker process, alternating rounds.

Both keep their queue in one SQLite file and run a worker next to it, the shape of a
one-machine install: throughput with an empty handler (``--jobs`` enqueued in one commit
onto an idle worker; the clock runs until the last one is done) and enqueue→start
latency on an idle queue (p50, p99 over ``--latency-samples``). Each round gets a fresh
file. Our side is bench/jobs.py's "SQLite, 1 worker process" scenario; huey's is
_huey_driver.py (its settings — one worker thread, 1 ms polling, ``fsync=False`` — are in
that file's docstring), run by its own venv (_venvs.py).

The two do not promise the same: huey deletes a task when it dequeues it and records
nothing when an empty task ends (at most once), where ours leases a job and records its
completion (at least once, the result committed with the job's effects).

    .venv/bin/python bench/peers/jobs_sqlite.py [--rounds 3] [--jobs 20000]
        [--latency-samples 300] [--huey-delay 0.001]

Prints a Markdown table: medians per side and ours/theirs ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import Sample, Side, alternate, print_report, run_driver
from _job_rounds import ROWS, driver_timeout, our_round, parser
from _venvs import ensure


def huey_round(python: Path, args: argparse.Namespace) -> Sample:
    with tempfile.TemporaryDirectory() as directory:
        arguments = ["measure", "--database", str(Path(directory) / "huey.db")]
        arguments += ["--jobs", str(args.jobs), "--latency-samples", str(args.latency_samples)]
        arguments += ["--delay", str(args.huey_delay), "--worker-type", "thread"]
        return run_driver(python, "_huey_driver.py", arguments, driver_timeout(args))


def main() -> None:
    options = parser(__doc__.splitlines()[0])
    options.add_argument(
        "--huey-delay", type=float, default=0.001, help="huey's polling interval (s)"
    )
    args = options.parse_args()
    python = ensure("huey")
    sides = [
        Side("ours", lambda: our_round("sqlite", 1, args)),
        Side("huey", lambda: huey_round(python, args)),
    ]
    results = alternate(args.rounds, sides)
    details = (
        f"SQLite, 1 worker process per side; {args.jobs} jobs, {args.latency_samples} "
        f"latency samples; huey polls every {args.huey_delay * 1000:g} ms"
    )
    print_report("Ours vs huey 3.5.4 (SqliteHuey)", details, "huey", ROWS, results)


if __name__ == "__main__":
    main()
