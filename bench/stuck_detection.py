"""Stuck detection benchmark: what the loop check costs an agent run every turn.

The agent loop calls ``find_loop`` after every reply's tool calls, over the whole run's
history. This times one check on a long run with 30 KB tool outputs (the default
``tool_output_limit``) in the three situations that cost differently:

- *progress*: every call differs, so no output is masked at all;
- *polling, next turn*: the same call with changing output, the masked outputs of the
  earlier turns cached: one new output is masked;
- *polling, cold*: the same, with an empty cache (the first check after a resume).

    .venv/bin/python bench/stuck_detection.py [--turns 200] [--runs 20]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine
from orchestrate.agents.stuck import ToolAction, find_loop, normalise_output

OUTPUT_CHARS = 30_000


def output(turn: int) -> str:
    """Test-runner-like output dense in volatile text (durations, PIDs, times)."""
    line = (
        f"test_{turn}_case PASSED in 0.{turn % 10}3s pid {4000 + turn} at 04:55:{turn % 60:02d}\n"
    )
    return (line * (OUTPUT_CHARS // len(line) + 1))[:OUTPUT_CHARS]


def progress(turns: int) -> list[ToolAction]:
    return [ToolAction(t, "bash", {"command": f"step {t}"}, output(t), False) for t in range(turns)]


def polling(turns: int) -> list[ToolAction]:
    return [ToolAction(t, "bash", {"command": "make"}, output(t), False) for t in range(turns)]


def timed(prepare: Callable[[], list[ToolAction]], runs: int, cold: bool) -> list[float]:
    samples = []
    for _ in range(runs):
        history = prepare()
        if cold:
            normalise_output.cache_clear()
        else:
            normalise_output.cache_clear()
            find_loop(history[:-1], 4)  # the previous turn's check fills the cache
        started = time.perf_counter()
        find_loop(history, 4)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    scenarios = {
        "progress (no call repeats)": (lambda: progress(args.turns), False),
        "polling, next turn (cache warm)": (lambda: polling(args.turns), False),
        "polling, first check after a resume (cold)": (lambda: polling(args.turns), True),
    }
    print(f"Machine: {machine()}. {args.turns} turns, {OUTPUT_CHARS:,}-character outputs.\n")
    print("| scenario | check p50 (ms) | check max (ms) |")
    print("|---|---:|---:|")
    for name, (prepare, cold) in scenarios.items():
        samples = timed(prepare, args.runs, cold)
        print(f"| {name} | {statistics.median(samples):.2f} | {max(samples):.2f} |")


if __name__ == "__main__":
    main()
