"""Delivery benchmark: stories driven to merged pull requests, the orchestration alone.

For each size N: N stories, a story developer started on each (a scripted model that
answers at once: write a file of its own, add, commit, finish), all on one worker in
this process with the agent, delivery and shepherd jobs; the fake GitHub on 127.0.0.1
backed by a local bare repository; the repository's merge policy merges on its own with
no approval needed and no checks reported. Every pull request is pushed, opened, looked
at by the shepherd and merged (the merges are real git merges in the bare repository).

Nothing of a model's thinking or of a test suite is in the time, so the time per pull
request is the orchestration's: agent turns and tools, worktrees, the push, the forge's
calls, the shepherd's look and the merge. Measured: the wall time from the first start
to the last merge, divided by N (throughput), the median time one story takes from its
agent's start to its merge (latency), and the process's CPU time per pull request.

    .venv/bin/python bench/delivery.py [--sizes 10,100] [--only sqlite|postgresql]
        [--concurrency 8] [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from _common import Database, machine
from orchestrate.agents import service as agents
from orchestrate.agents.execution import register_agent_jobs
from orchestrate.agents.models import AgentRun
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.logging import configure_logging
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryDraft
from orchestrate.testing import FakeGitHub
from orchestrate.testing.scripted import ScriptedProvider, Step, finish, tool_call

REPO = "octo/app"
ACTOR = Actor.local_cli()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def project(root: Path) -> tuple[Path, Path]:
    """A clone to register and the bare repository it pushes to."""
    remote = root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    work = root / "project"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README.md").write_text("bench\n")
    git(work, "add", ".")
    git(work, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "-q", "origin", "main")
    return work, remote


def script(run: AgentRun) -> list[Step]:
    """Write a file named after the story, commit it, finish."""
    name = f"story-{run.story_id}.txt"
    return [
        tool_call("write_file", {"path": name, "content": f"{run.task}\n"}),
        tool_call("git", {"action": "add", "paths": [name]}),
        tool_call("git", {"action": "commit", "message": f"Add {name}"}),
        finish("completed", f"Added {name}."),
    ]


@dataclass(frozen=True)
class Result:
    scenario: str
    pull_requests: int
    wall_seconds: float
    cpu_seconds: float
    latencies: list[float]

    @property
    def per_pull_request_ms(self) -> float:
        return self.wall_seconds * 1000 / self.pull_requests

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds * 1000 / self.pull_requests


async def drive(url: str, root: Path, size: int, args: argparse.Namespace) -> Result:
    work, remote = project(root)
    with FakeGitHub() as github:
        github.add_repository(REPO, git_dir=remote)
        runtime = Runtime.open(
            Settings(
                database_url=url,
                home=root / "home",
                github_api_url=github.api_url,
                github_token=SecretStr(github.token),
                max_concurrent_agents=args.concurrency,
                worker_concurrency=args.concurrency + 8,
                shepherd_poll_seconds=1.0,
            )
        )
        try:
            return await _drive(runtime, work, size, args)
        finally:
            await runtime.close()


async def _drive(runtime: Runtime, work: Path, size: int, args: argparse.Namespace) -> Result:
    new = repositories.NewRepository(source=str(work), name=REPO, default_branch="main")
    await repositories.add_repository(runtime.uow(), runtime.settings, new, ACTOR)
    policy = repositories.MergePolicyChange(auto_merge=True, required_approvals=0)
    await repositories.change_merge_policy(runtime.uow(), runtime.settings, REPO, policy, ACTOR)
    models: dict[str, ScriptedProvider] = {}

    def model(run: AgentRun) -> ScriptedProvider:
        if run.id not in models:
            models[run.id] = ScriptedProvider(script(run))
        return models[run.id]

    registry = JobRegistry()
    register_agent_jobs(registry, runtime, lambda _rt: model)
    delivery.register_delivery_jobs(registry, runtime)
    made = [
        await stories.create_story(runtime.uow(), StoryDraft(title=f"Story {n}"), ACTOR)
        for n in range(size)
    ]
    stop = asyncio.Event()
    worker = asyncio.create_task(JobRunner(runtime, registry).run(stop))
    started, cpu = time.perf_counter(), time.process_time()
    for story in made:
        request = agents.StartAgent(
            type="story-developer",
            task=f"Deliver {story.title}",
            story=story.id,
            repo=work,
            provider="openai",
            model="scripted-model",
        )
        await agents.start_agent(runtime.uow(), runtime.settings, request, ACTOR)
    merged = await _wait_merged(runtime, size, args.timeout)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    await worker
    latencies = [
        (pull.merged_at - pull.opened_at).total_seconds()
        for pull in merged
        if pull.merged_at is not None
    ]
    scenario = f"{runtime.database.engine.dialect.name}, {size} stories"
    return Result(scenario, size, wall, cpu, latencies)


async def _wait_merged(runtime: Runtime, size: int, within: float) -> list[delivery.PullRequest]:
    """Poll every 100 ms until ``size`` pull requests are merged (workers merge them:
    there is no event to wait on here)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        page = await delivery.list_pull_requests(
            runtime.uow(read_only=True), state=delivery.PullRequestState.MERGED, limit=500
        )
        if len(page.items) >= size:
            return list(page.items)
        await asyncio.sleep(0.1)
    raise SystemExit(f"not every pull request merged within {within:g} s")


def run_size(kind: str, size: int, args: argparse.Namespace) -> Result:
    database = Database(kind, args.postgres)
    try:
        with tempfile.TemporaryDirectory() as root:
            return asyncio.run(drive(database.url, Path(root), size, args))
    finally:
        database.drop()


def print_report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"Machine: {machine()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d}; {args.concurrency} agents at once, 1 worker\n")
    print("| scenario | wall | per pull request | opened → merged, p50 | CPU per pull request |")
    print("|---|---|---|---|---|")
    for r in results:
        p50 = statistics.median(r.latencies) if r.latencies else float("nan")
        print(
            f"| {r.scenario} | {r.wall_seconds:.1f} s | {r.per_pull_request_ms:.0f} ms | "
            f"{p50 * 1000:.0f} ms | {r.cpu_ms:.0f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "ORCHESTRATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    configure_logging("warning")
    os.environ.setdefault("OPENAI_API_KEY", "scripted")
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    sizes = [int(size) for size in args.sizes.split(",")]
    print_report([run_size(kind, size, args) for kind in kinds for size in sizes], args)


if __name__ == "__main__":
    main()
