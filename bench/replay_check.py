"""What comparing a replayed request on content costs per call.

Before answering each call a replay compares the system prompt and the new tool results
with the recorded ones, masking the run's paths, ids, commits, times and durations
(``orchestrate.llm.replay_match``). Measured here on a tool result of SIZE bytes of
Python source (this repository's own), in three cases: the texts are equal as they are
(the fast path), they differ only in the masked parts (the workspace path and a
duration: both sides are masked), and they really differ (masking, then the excerpt).

    .venv/bin/python bench/replay_check.py [--size 40000] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from orchestrate.llm.models import (
    CompletionRequest,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from orchestrate.llm.replay_match import RunIdentity, content_difference

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

SOURCE = Path(__file__).parents[1] / "src" / "orchestrate" / "agents" / "loop.py"


def request(workspace: str, output: str) -> CompletionRequest:
    return CompletionRequest(
        model="claude-sonnet-4-6",
        system=f"You are a developer. Your tools work in {workspace}.",
        messages=[
            Message(role=Role.USER, content=[TextBlock(text="Fix the failing test.")]),
            Message(
                role=Role.ASSISTANT,
                content=[ToolUseBlock(id="toolu_01", name="read_file", input={"path": "x"})],
            ),
            Message(
                role=Role.USER,
                content=[ToolResultBlock(tool_use_id="toolu_01", content=output)],
            ),
        ],
    )


def measure(calls: int, recorded: CompletionRequest, sent: CompletionRequest) -> list[float]:
    old, new = RunIdentity(workspace="/rec/ws"), RunIdentity(workspace="/new/ws")
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        content_difference(recorded, sent, old, new)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=40_000)
    parser.add_argument("--calls", type=int, default=200)
    options = parser.parse_args()
    text = (SOURCE.read_text() * (options.size // 1000 + 1))[: options.size]

    def output(workspace: str, seconds: str) -> str:
        return f"{text}\n{workspace}/test_calc.py: 3 passed in {seconds}s\n"

    recorded = request("/rec/ws", output("/rec/ws", "0.02"))
    cases = {
        "equal as they are": recorded,
        "differ only in masked parts": request("/new/ws", output("/new/ws", "1.75")),
        "really differ": request("/new/ws", "x" + output("/new/ws", "1.75")),
    }
    print(f"{machine()}; tool result of {options.size:,} bytes, {options.calls} calls each\n")
    print("| case | median ms | p95 ms |\n|---|---:|---:|")
    for name, sent in cases.items():
        timings = sorted(measure(options.calls, recorded, sent))
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"| {name} | {statistics.median(timings):.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
