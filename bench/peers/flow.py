"""Ours against Prefect 3: a 3-step flow, trigger→done, one run at a time, alternating rounds.

Ours is bench/pipelines.py's latency measurement as it is: the 3-step chain of
``run: "true"`` steps (its smallest steps; each starts bash, in the bubblewrap sandbox
where it is installed) triggered one run at a time while one ``orchestrate worker``
process idles; the figure is the run's stored ``finished_at - created_at``. Prefect's
side (_prefect_driver.py, in its own venv) starts a local Prefect server on a fresh
database and times a flow of three tasks by its stored ``end_time - created``, twice:
run as a deployment by a ``flow.serve()`` runner (the same shape as ours), and called in
a warm process (no queue, no worker). Each round of either side gets a fresh database
and p50/p99 over ``--samples`` runs.

``--database postgresql`` (the default with ``--postgres``) puts both on PostgreSQL,
which Prefect recommends for its server: on SQLite its server answered some API calls
with "database is locked" (503), which its client retries after about 2 s, so a share of
its runs there take seconds. ``--database sqlite`` measures both on SQLite all the same.
``--prefect-step shell`` makes each Prefect task run ``true`` through bash too.

    .venv/bin/python bench/peers/flow.py [--rounds 3] [--samples 30]
        [--database postgresql|sqlite] [--prefect-step python|shell]
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test

Prints a Markdown table: medians per side and ours/theirs ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import Row, Sample, Side, alternate, print_report, run_driver
from _venvs import ensure

import pipelines
from _common import Database, percentile
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service

ROWS = [
    Row("trigger→done p50 (ms), Prefect run as a deployment", "p50_ms", "deployment_p50_ms", False),
    Row("trigger→done p99 (ms), Prefect run as a deployment", "p99_ms", "deployment_p99_ms", False),
    Row("trigger→done p50 (ms), Prefect flow called in-process", "p50_ms", "call_p50_ms", False),
    Row("trigger→done p99 (ms), Prefect flow called in-process", "p99_ms", "call_p99_ms", False),
]


def our_round(args: argparse.Namespace) -> Sample:
    database = Database(args.database, args.postgres)
    try:
        durations = asyncio.run(_our_latency(database.url, args.samples))
    finally:
        database.drop()
    return {"p50_ms": percentile(durations, 50), "p99_ms": percentile(durations, 99)}


async def _our_latency(url: str, samples: int) -> list[float]:
    home = tempfile.mkdtemp()
    runtime = Runtime.open(Settings(database_url=url, home=Path(home)))
    try:
        source = service.PipelineSource(pipelines.chain("chain3", 3))
        await service.register_pipeline(runtime.uow(), source, pipelines.ACTOR)
        workers = await asyncio.to_thread(pipelines.start_workers, url, 1, home)
        try:
            return await pipelines.latency(runtime, samples)
        finally:
            await asyncio.to_thread(pipelines.stop_workers, workers)
    finally:
        await runtime.close()


def prefect_round(python: Path, args: argparse.Namespace) -> Sample:
    arguments = ["measure", "--samples", str(args.samples), "--step", args.prefect_step]
    timeout = args.timeout or 300 + args.samples * 10
    if args.database == "sqlite":  # the server's own file in its fresh home
        return run_driver(python, "_prefect_driver.py", arguments, timeout)
    database = Database("postgresql", args.postgres, migrate=False)
    try:
        arguments += ["--database-url", database.url]
        return run_driver(python, "_prefect_driver.py", arguments, timeout)
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side")
    parser.add_argument("--samples", type=int, default=30, help="runs per round and side")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default=None)
    parser.add_argument("--prefect-step", choices=["python", "shell"], default="python")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds a Prefect round may take"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"),
        help="server URL (postgresql+asyncpg://…)",
    )
    args = parser.parse_args()
    args.database = args.database or ("postgresql" if args.postgres else "sqlite")
    if args.database == "postgresql" and not args.postgres:
        parser.error("--database postgresql needs --postgres (or ORCHESTRATE_TEST_POSTGRES_URL)")
    python = ensure("prefect")
    sides = [
        Side("ours", lambda: our_round(args)),
        Side("prefect", lambda: prefect_round(python, args)),
    ]
    results = alternate(args.rounds, sides)
    label = "PostgreSQL" if args.database == "postgresql" else "SQLite"
    step = "an empty task" if args.prefect_step == "python" else "a task running `true` in bash"
    details = (
        f"{label} for both (ours: 1 `orchestrate worker`; Prefect: its server's database); "
        f'{args.samples} runs per round; 3 steps: ours `run: "true"`, Prefect {step}'
    )
    print_report("Ours vs Prefect 3.9.1, a 3-step flow", details, "prefect", ROWS, results)


if __name__ == "__main__":
    main()
