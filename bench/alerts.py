"""Alerting benchmark: 1,000 rules over a stream of 10,000 events a minute.

An ``orchestrate worker`` process evaluates the rules (the ``monitoring.alerts``
consumer) while this process writes the stream — pipeline runs of 50 pipelines (10 %
failing) and agent runs of 5 types, in small batches every 100 ms — for ``--seconds``.
Once a second it also writes a *probe*: a failed run of a pipeline never seen before
(``probe-N``), which one rule (``pipeline_runs_failed`` by ``pipeline``, ``> 0``) turns
into a new firing alert. *Lag* = the ``alert.firing`` event's time minus the probe event's
time, both from this machine's clock: from the event's commit to the alert's state
change as the worker commits it. The other 999 rules cover every metric of the
catalogue with windows of 1m to 1h, split or not, most of them never true (as real rule
sets are), so each evaluation reads what a thousand-rule deployment reads.

    .venv/bin/python bench/alerts.py [--seconds 60] [--rate 10000] [--rules 1000]
        [--only sqlite|postgresql] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Target (issue 15): p99 lag under 2 s. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _common import Database, machine, percentile
from orchestrate.agents.events import AgentCompleted, AgentFailed
from orchestrate.auth.service import Actor
from orchestrate.core.events import EventFilter, read_events, record_event
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.monitoring.alerts import service
from orchestrate.monitoring.alerts.catalogue import METRICS, Kind
from orchestrate.pipelines.events import RunFailed, RunSucceeded

PIPELINES = [f"pipeline-{n}" for n in range(50)]
AGENT_TYPES = ["story-developer", "reviewer", "issue-fixer", "pr-shepherd", "planner"]
WINDOWS = ["1m", "5m", "15m", "1h"]


def rules_file(count: int) -> str:
    """The probe rule and ``count - 1`` others over the whole catalogue."""
    lines = [
        "rules:",
        "  - name: probe",
        "    metric: pipeline_runs_failed",
        "    by: [pipeline]",
        "    window: 1m",
        '    condition: "> 0"',
        "    labels: {probe: 'yes'}",
    ]
    combos = itertools.cycle(
        [
            (metric, window, split)
            for metric in METRICS.values()
            for window in WINDOWS
            for split in ((), metric.labels[:1])
            if not (split and metric.name == "budget_use_ratio")
        ]
    )
    for n in range(count - 1):
        metric, window, split = next(combos)
        # Most rules never hold, a few do: thresholds from low to out of reach.
        threshold = [0.5, 10, 100, 1_000_000][n % 4]
        if metric.kind is Kind.RATIO:
            threshold = [0.05, 0.5, 0.9, 2][n % 4]
        lines += [
            f"  - name: rule-{n}",
            f"    metric: {metric.name}",
            f"    window: {window}",
            f"    by: [{', '.join(split)}]",
            f'    condition: "> {threshold}"',
            f"    for: {['0s', '1m', '5m'][n % 3]}",
            f"    labels: {{team: team-{n % 7}}}",
        ]
    return "\n".join(lines) + "\n"


def start_worker(url: str, home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {
        "ORCHESTRATE_HOME": str(home),
        "ORCHESTRATE_DATABASE_URL": url,
        "ORCHESTRATE_LOG_LEVEL": "error",
    }
    log = (home / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrate", "worker"], env=env, stdout=log, stderr=log
    )


@dataclass(frozen=True)
class Result:
    scenario: str
    rules: int
    events: int
    seconds: float
    probes: int
    seen: int
    lags: list[float]


async def stream(runtime: Runtime, seconds: float, rate: int) -> tuple[int, dict[str, datetime]]:
    """Write the stream and the probes; returns how many events and each probe's time."""
    written, probes = 0, dict[str, datetime]()
    counter = itertools.count()
    started = time.monotonic()
    next_probe = started + 1.0
    while time.monotonic() - started < seconds:
        tick = time.monotonic()
        due = int(rate / 60 * (tick - started)) - written + len(probes)  # keeps the rate
        async with runtime.uow() as uow:
            for _ in range(max(due, 0)):
                n = next(counter)
                if n % 2:
                    pipeline = PIPELINES[n % len(PIPELINES)]
                    kind = RunFailed if n % 10 == 1 else RunSucceeded
                    record_event(uow, kind(subject=f"run_{n}", pipeline=pipeline, from_="running"))
                else:
                    agent = AgentFailed if n % 20 == 0 else AgentCompleted
                    record_event(
                        uow,
                        agent(
                            subject=f"agent_{n}",
                            from_="running",
                            to="completed",
                            type=AGENT_TYPES[n % len(AGENT_TYPES)],
                        ),
                    )
                written += 1
            if tick >= next_probe:
                name = f"probe-{len(probes)}"
                record_event(uow, RunFailed(subject=f"run_{name}", pipeline=name, from_="running"))
                probes[name] = uow.now()
                written += 1
                next_probe += 1.0
            await uow.commit()
        await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
    return written, probes


async def firing_times(runtime: Runtime) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    after = 0
    async with runtime.uow(read_only=True) as uow:
        while True:
            batch = await read_events(
                uow.session, after=after, limit=1000, only=EventFilter(types=("alert.firing",))
            )
            if not batch:
                return found
            for event in batch:
                labels = event.payload.get("labels", {})
                pipeline = labels.get("pipeline", "")
                if labels.get("alertname") == "probe" and pipeline.startswith("probe-"):
                    found.setdefault(pipeline, event.created_at)
            after = batch[-1].id


def run_kind(kind: str, args: argparse.Namespace) -> Result:
    database = Database(kind, args.postgres)
    home = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    worker = None
    try:
        settings = Settings(database_url=database.url, home=home)

        async def main() -> Result:
            runtime = Runtime.open(settings)
            try:
                await service.apply_rules(
                    runtime.uow(), "bench", rules_file(args.rules), Actor.local_cli()
                )
                nonlocal worker
                worker = start_worker(database.url, home)
                await asyncio.sleep(args.warm_up)  # the worker starts and evaluates once
                written, probes = await stream(runtime, args.seconds, args.rate)
                await asyncio.sleep(3.0)  # the last probes' evaluations
                fired = await firing_times(runtime)
            finally:
                await runtime.close()
            lags = [
                (fired[name] - at).total_seconds() for name, at in probes.items() if name in fired
            ]
            return Result(
                f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}, 1 worker process",
                args.rules,
                written,
                args.seconds,
                len(probes),
                len(lags),
                lags,
            )

        return asyncio.run(main())
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=10_000, help="Events a minute.")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--warm-up", type=float, default=8.0)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "ORCHESTRATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    results = [run_kind(kind, args) for kind in kinds]
    print(f"Machine: {machine()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d}\n")
    print("| scenario | rules | events / min | probes fired | lag p50 | lag p99 | lag max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_minute = r.events / r.seconds * 60
        if r.lags:
            p50, p99, worst = percentile(r.lags, 50), percentile(r.lags, 99), max(r.lags)
            figures = f"{p50:.2f} s | **{p99:.2f} s** | {worst:.2f} s"
        else:
            figures = "— | — | —"
        print(
            f"| {r.scenario} | {r.rules:,} | {per_minute:,.0f} | {r.seen} of {r.probes} | "
            f"{figures} |"
        )


if __name__ == "__main__":
    main()
