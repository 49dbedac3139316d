"""Ours and a peer in alternating rounds: the rounds, the peer's driver process, the table.

A round is one fresh database (or queue) and one full measurement of one side. Rounds
alternate, ours then theirs, so that a machine whose load drifts (it is shared) moves
both sides alike; the table gives each side's median over its rounds, the range in
brackets, and a ratio oriented so that above 1 always means ours is better: ours ÷ theirs
for throughput, theirs ÷ ours for latency.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine

HERE = Path(__file__).resolve().parent

Sample = dict[str, float]
"""One round's figures of one side, by measure key."""


@dataclass(frozen=True)
class Row:
    """One line of the table: a measure, its key on each side, and which way is better."""

    label: str
    ours: str
    theirs: str
    higher_is_better: bool
    decimals: int = 1


@dataclass(frozen=True)
class Side:
    name: str
    run_round: Callable[[], Sample]


def alternate(rounds: int, sides: Sequence[Side]) -> dict[str, list[Sample]]:
    """``rounds`` rounds of every side in turn: ours, theirs, ours, theirs…"""
    results: dict[str, list[Sample]] = {side.name: [] for side in sides}
    for index in range(rounds):
        for side in sides:
            print(f"round {index + 1}/{rounds}: {side.name}", file=sys.stderr, flush=True)
            results[side.name].append(side.run_round())
    return results


def run_driver(python: Path, script: str, arguments: Sequence[str], timeout: float) -> Sample:
    """Run a peer's driver script with its venv's python; its last stdout line is JSON.

    The driver gets a process group of its own, and the whole group is killed when it
    overruns ``timeout`` or leaves children behind, so a hung peer (or a server it
    started) cannot outlive the round.
    """
    command = [str(python), str(HERE / script), *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        process.wait()
        raise RuntimeError(f"{script} did not finish within {timeout:.0f} s") from None
    finally:
        _kill_group(process.pid)
    if process.returncode != 0:
        raise RuntimeError(f"{script} exited with {process.returncode}")
    lines = output.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{script} printed no result")
    return {str(key): float(value) for key, value in json.loads(lines[-1]).items()}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def plain_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` as a libpq DSN, the form asyncpg and the peers take."""
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def print_report(
    title: str,
    details: str,
    peer: str,
    rows: Sequence[Row],
    results: dict[str, list[Sample]],
) -> None:
    ours, theirs = results["ours"], results[peer]
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; {details}")
    print()
    print(f"**{title}** — median of {len(ours)} rounds per side (lowest to highest in parentheses)")
    print()
    print(f"| measure | ours | {peer} | ratio (> 1: ours better) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        mine = [sample[row.ours] for sample in ours]
        peers = [sample[row.theirs] for sample in theirs]
        mine_median, peer_median = statistics.median(mine), statistics.median(peers)
        if row.higher_is_better:
            ratio, how = mine_median / peer_median, "ours ÷ theirs"
        else:
            ratio, how = peer_median / mine_median, "theirs ÷ ours"
        print(
            f"| {row.label} | {_cell(mine, row.decimals)} | {_cell(peers, row.decimals)} "
            f"| {ratio:.2f}x ({how}) |"
        )


def _cell(values: list[float], decimals: int) -> str:
    def number(value: float) -> str:
        return f"{value:,.{decimals}f}"

    median = number(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({number(min(values))} to {number(max(values))})"
