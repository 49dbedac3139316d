"""CLI start-up benchmark: wall time of commands that need no capability or no database.

Runs the installed ``orchestrate`` console script (the one next to this interpreter) as
a user would, ``--runs`` times per command, in a fresh home on SQLite, and prints a
Markdown table of the median, fastest and slowest wall times to paste into
docs/benchmarks.md. ``token list`` is the yardstick of a command that opens the
database (already migrated: the first run migrates it and is not counted).

    .venv/bin/python bench/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

ORCHESTRATE = str(Path(sys.executable).with_name("orchestrate"))


def commands(pipeline: Path) -> list[tuple[str, list[str]]]:
    return [
        ("orchestrate --version", ["--version"]),
        ("orchestrate --help", ["--help"]),
        ("orchestrate config show", ["config", "show"]),
        ("orchestrate pipeline validate ci.yml", ["pipeline", "validate", str(pipeline)]),
        ("orchestrate pipeline schema", ["pipeline", "schema"]),
        ("orchestrate pipeline templates", ["pipeline", "templates"]),
        ("orchestrate pipeline init -t ci", ["pipeline", "init", "-t", "ci"]),
        ("orchestrate token list (opens the database)", ["token", "list"]),
    ]


def wall_times(args: list[str], env: dict[str, str], cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [ORCHESTRATE, *args], env=env, cwd=cwd, check=True, capture_output=True, timeout=120
        )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
        env["ORCHESTRATE_HOME"] = str(workdir / "home")
        pipeline = workdir / "ci.yml"
        subprocess.run(
            [ORCHESTRATE, "pipeline", "init", "-t", "ci", "-o", str(pipeline)],
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
        )
        subprocess.run(  # migrate once, so token list measures a warm database
            [ORCHESTRATE, "token", "list"], env=env, cwd=workdir, check=True, capture_output=True
        )
        print(f"Machine: {machine()}; {datetime.now(UTC):%Y-%m-%d}; {options.runs} runs each\n")
        print("| command | median | fastest | slowest |")
        print("|---|---:|---:|---:|")
        for label, args in commands(pipeline):
            times = wall_times(args, env, workdir, options.runs)
            print(
                f"| `{label}` | {statistics.median(times):.2f} s | {min(times):.2f} s "
                f"| {max(times):.2f} s |"
            )


if __name__ == "__main__":
    main()
