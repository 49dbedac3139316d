"""The sandbox's cost per command: agent ``bash`` and pipeline ``run`` steps, with and without.

Each command (``true``, ``python3 -c pass``) runs ``--runs`` times through the real
code paths: the agent ``Bash`` tool (``run_process``) and the step runner
(``run_shell``, with its log file and output pump), the agent tool also in a real git
worktree (whose commands prepare and adopt the private git store), once unconfined
(``ORCHESTRATE_SANDBOX=none``), once in bubblewrap without network and once with
``network: true`` (slirp4netns). Each mode runs in its own block: interleaved, the
kernel's deferred teardown of the network namespaces of one mode's commands lands in
the next mode's timings. The database is not involved: it costs the same in every mode.

    .venv/bin/python bench/sandbox.py [--runs 200]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.shell import Bash
from orchestrate.agents.workspaces import create_workspace
from orchestrate.core.sandbox import SANDBOX_PATH, SandboxPolicy, require_sandbox
from orchestrate.core.settings import SandboxMode
from orchestrate.pipelines.steps.shell import ShellCommand, run_shell

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, percentile

COMMANDS = {"true": "true", "python3 -c pass": "python3 -c pass"}
MODES = {
    "none": (SandboxPolicy(mode=SandboxMode.NONE), False),
    "bubblewrap": (SandboxPolicy(), False),
    "bubblewrap + network": (SandboxPolicy(), True),
}

SAME_PATH = {"PATH": SANDBOX_PATH}
"""Unconfined commands keep the host's PATH; the same PATH everywhere compares like with like
(here the host's first ``python3`` is a pyenv shim, several times slower to start)."""

Runner = Callable[[str, SandboxPolicy, bool], Awaitable[None]]


def agent_bash(workspace: Path) -> Runner:
    async def run(command: str, policy: SandboxPolicy, network: bool) -> None:
        context = ToolContext(
            agent_id="bench", workspace=workspace, env=SAME_PATH, sandbox=policy, network=network
        )
        result = await Bash().run(context, {"command": command})
        if not result.content.endswith("[exit code 0]"):
            raise SystemExit(f"agent bash failed: {result.content}")

    return run


def step(workspace: Path) -> Runner:
    async def run(command: str, policy: SandboxPolicy, network: bool) -> None:
        log_path = workspace.parent / "logs" / "step.log"
        output_file = workspace.parent / "logs" / "step.outputs"
        log_path.parent.mkdir(exist_ok=True)
        output_file.write_text("")
        shell = ShellCommand(
            script=command,
            env={"CI": "true", **SAME_PATH},
            cwd=workspace,
            timeout=60,
            kill_grace=1,
            log_path=log_path,
            network=network,
            sandbox=policy,
            workspace=workspace,
            output_file=output_file,
        )

        async def ignore(_lines: list[str]) -> None:
            return None

        async def never() -> bool:
            return False

        result = await run_shell(shell, ignore, never)
        if not result.succeeded:
            raise SystemExit(f"step failed: {result}")

    return run


def make_repository(repository: Path) -> None:
    repository.mkdir()
    for arguments in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "--allow-empty", "-m", "i"],
    ):
        subprocess.run(["git", "-C", str(repository), *arguments], check=True)


async def agent_worktree(repository: Path) -> Path:
    """An agent's real worktree: its commands also prepare and adopt the private git store."""
    await asyncio.to_thread(make_repository, repository)
    return (await create_workspace(repository, "bench", "bench")).path


async def measure(runs: int) -> list[tuple[str, str, str, float, float]]:
    require_sandbox(SandboxPolicy())
    rows = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-bench-sandbox-") as root:
        workspace = Path(root) / "workspace"
        workspace.mkdir()
        worktree = await agent_worktree(Path(root) / "repository")
        paths = (
            ("agent bash", agent_bash, workspace),
            ("agent bash, git worktree", agent_bash, worktree),
            ("run step", step, workspace),
        )
        for path_name, make_runner, directory in paths:
            runner = make_runner(directory)
            for label, command in COMMANDS.items():
                samples: dict[str, list[float]] = {mode: [] for mode in MODES}
                for mode, (policy, network) in MODES.items():
                    for _ in range(10):  # warm caches
                        await runner(command, policy, network)
                    for _ in range(runs):
                        started = time.perf_counter()
                        await runner(command, policy, network)
                        samples[mode].append((time.perf_counter() - started) * 1000)
                for mode, values in samples.items():
                    rows.append(
                        (path_name, label, mode, percentile(values, 50), percentile(values, 95))
                    )
    return rows


def render(rows: list[tuple[str, str, str, float, float]], runs: int) -> str:
    baseline = {(path, command): p50 for path, command, mode, p50, _ in rows if mode == "none"}
    lines = [
        f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}. {runs} runs per cell.",
        "",
        "| path | command | sandbox | p50 (ms) | p95 (ms) | added at p50 (ms) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for path, command, mode, p50, p95 in rows:
        added = p50 - baseline[(path, command)]
        shown = "—" if mode == "none" else f"{added:+.1f}"
        lines.append(f"| {path} | `{command}` | {mode} | {p50:.1f} | {p95:.1f} | {shown} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    arguments = parser.parse_args()
    rows = asyncio.run(measure(arguments.runs))
    print(render(rows, arguments.runs))


if __name__ == "__main__":
    main()
