"""Fitting a long run into the context window: time per turn and request size per turn.

A run of TURNS turns, each writing a 40 KB file (over 10,000 tokens), fitted every turn
to a 128k window as the agent loop does, for each provider's estimate. Reported: the
time to fit one request (median, p95, max) with the incremental estimate, the same
with a fresh estimator every turn (what measuring the whole transcript every turn
costs), how many messages each turn serialises, and the estimated input tokens per
request in the first and second half of the run (flat once the window is reached).

    .venv/bin/python bench/context_window.py [--turns 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from orchestrate.agents.context import ContextFitter
from orchestrate.llm.estimate import estimator_for
from orchestrate.llm.models import (
    CompletionRequest,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
)

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

WINDOW = 128_000
FILE_BYTES = 40_000
WRITE = ToolSpec(
    name="write_file",
    description="Create a file or replace its whole content.",
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)


def turn(n: int) -> list[Message]:
    line = f"# generated file {n:03d}: " + "x" * 70 + "\n"
    content = (line * (FILE_BYTES // len(line) + 1))[:FILE_BYTES]
    use = ToolUseBlock(
        id=f"call_{n:04d}", name="write_file", input={"path": f"gen/f{n}.txt", "content": content}
    )
    return [
        Message(role=Role.ASSISTANT, content=[TextBlock(text=f"Writing file {n}."), use]),
        Message(
            role=Role.USER,
            content=[ToolResultBlock(tool_use_id=use.id, content=f"Created 'gen/f{n}.txt'")],
        ),
    ]


def request(messages: list[Message]) -> CompletionRequest:
    return CompletionRequest(
        model="bench-model",
        system="You write files." * 200,
        messages=messages,
        tools=[WRITE],
        max_tokens=8192,
    )


def run(provider: str, turns: int, *, fresh: bool) -> tuple[list[float], list[int], int]:
    fitter = ContextFitter(estimator_for(provider))
    messages = [Message(role=Role.USER, content=[TextBlock(text="Write the files.")])]
    times: list[float] = []
    sizes: list[int] = []
    for n in range(turns):
        messages.extend(turn(n))
        if fresh:
            fitter = ContextFitter(estimator_for(provider))
        started = time.perf_counter()
        fitter.fit(request(messages), WINDOW)
        times.append((time.perf_counter() - started) * 1000)
        sizes.append(fitter.last_tokens)
    return times, sizes, fitter.estimator.measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=400)
    turns = parser.parse_args().turns
    print(f"Machine: {machine()}; {turns} turns of {FILE_BYTES} B writes, {WINDOW} window\n")
    print("| provider | estimate | fit ms median | p95 | max | messages measured |")
    print("|---|---|---|---|---|---|")
    for provider in ("anthropic", "openai"):
        for fresh in (False, True):
            times, sizes, measured = run(provider, turns, fresh=fresh)
            p95 = statistics.quantiles(times, n=20)[-1]
            label = "whole transcript each turn" if fresh else "incremental"
            count = f"{measured} in the run" if not fresh else f"{measured} in the last turn"
            print(
                f"| {provider} | {label} | {statistics.median(times):.2f} | {p95:.2f} | "
                f"{max(times):.2f} | {count} |"
            )
            if not fresh:
                full = next(i for i, size in enumerate(sizes) if size > WINDOW // 2)
                steady = sizes[full:]
                half = len(steady) // 2
                first = statistics.mean(steady[:half])
                second = statistics.mean(steady[half:])
                print(
                    f"|  | tokens a request, from turn {full} | first half {first:,.0f} | "
                    f"second half {second:,.0f} | max {max(steady):,} | |"
                )


if __name__ == "__main__":
    main()
