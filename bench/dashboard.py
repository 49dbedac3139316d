"""Dashboard benchmark: server time per page on a full database, and the live delay.

1. **Server time per page.** A database is filled with 10,000 pipeline runs (3 steps
   each), 1,000 agents (one of them with a 2,000-message transcript), 1,000 pull requests,
   1,000 stories in one epic and 100,000 events. One row of each kind is made by the real
   services (a pipeline registered and triggered, an agent started, a story and an epic
   created, a pull request recorded as delivery records it); the rest are copies of those
   rows with new ids, times and states, inserted in bulk. Every page of the dashboard's
   menu, and the detail page of a run, an agent, a pull request, a story and an epic, is
   then requested ``--requests`` times through the real app in this process (httpx's ASGI
   transport: no socket, so the time is the server's), signed in as an operator.
2. **Live delay** (``--live``). ``orchestrate serve`` runs on that database; ``--pages``
   Chromium pages (one browser, Debian's /usr/bin/chromium, each page in its own context:
   50 people, 50 streams) are open on the agents list.
   This process then starts an agent (committing ``agent.created``) ``--changes`` times,
   and each page records when its table changed (a MutationObserver); the delay is from
   the commit to that change, page by page (each page's table arrives rendered in its
   stream: dashboard/pushed.py). ``serve``'s CPU and all Chromium processes' CPU per
   change are printed to stderr. The browsers share the machine's cores with
   ``serve``; ``--browser-nice 10`` runs them at a lower priority, as a stand-in for
   fifty people's browsers on their own machines.

    .venv/bin/python bench/dashboard.py [--only sqlite|postgresql] [--requests 30]
        [--live] [--pages 50] [--changes 10] [--browser-nice 0]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Prints Markdown tables to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, func, insert, select

from _common import Database, machine, percentile
from orchestrate.agents import service as agents
from orchestrate.agents.tables import AgentMessageRow, AgentRow
from orchestrate.app.http import create_app
from orchestrate.auth.models import Actor, Role
from orchestrate.auth.service import create_token
from orchestrate.core.db import Base
from orchestrate.core.events.tables import EventRow
from orchestrate.core.logging import configure_logging
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.delivery.tables import PullRequestRow
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.tables import PipelineRunRow, PipelineStepRow
from orchestrate.stories import service as stories
from orchestrate.stories.tables import StoryRow

PIPELINE = """
name: bench
description: Three steps, the middle one waiting for a person.
steps:
  - id: build
    run: echo build
  - id: approve
    needs: build
    approval:
      approvers: [bench-operator]
  - id: deploy
    needs: approve
    run: echo deploy
"""

RUNS, AGENTS, PULL_REQUESTS, STORIES, EVENTS = 10_000, 1_000, 1_000, 1_000, 100_000
TRANSCRIPT = 2_000
ADMIN = Actor(name="bench", role=Role.ADMIN, source="bench")
CHUNK = 2_000


def ids(prefix: str, count: int) -> list[str]:
    stamp = int(time.time() * 1000)
    return [f"{prefix}_{stamp:012x}{i:014x}" for i in range(count)]


async def copies(
    runtime: Runtime, table: Table, template: dict[str, Any], rows: Iterable[dict[str, Any]]
) -> None:
    """Insert ``template`` once per item of ``rows``, with that item's columns replaced."""
    batch: list[dict[str, Any]] = []

    async def flush() -> None:
        async with runtime.uow() as uow:
            await uow.session.execute(insert(table), batch)
            await uow.commit()
        batch.clear()

    for changes in rows:
        batch.append({**template, **changes})
        if len(batch) >= CHUNK:
            await flush()
    if batch:
        await flush()


async def template_of(runtime: Runtime, model: type[Base], key: Any) -> dict[str, Any]:
    table = model.__table__
    assert isinstance(table, Table)
    async with runtime.uow(read_only=True) as uow:
        row = (await uow.session.execute(select(table).where(table.c.id == key))).mappings().one()
    return dict(row)


async def fill(runtime: Runtime) -> dict[str, str]:
    """The database of the benchmark; returns one id of each kind for the detail pages."""
    now = datetime.now(UTC)
    rng = random.Random(7)

    await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(PIPELINE), ADMIN)
    run = await pipelines.trigger_pipeline(
        runtime.uow(), runtime.settings, pipelines.TriggerRequest(pipeline="bench"), ADMIN
    )
    run_template = await template_of(runtime, PipelineRunRow, run.id)
    step_table = PipelineStepRow.__table__
    assert isinstance(step_table, Table)
    async with runtime.uow(read_only=True) as uow:
        step_templates = [
            dict(r)
            for r in (
                await uow.session.execute(select(step_table).where(step_table.c.run_id == run.id))
            ).mappings()
        ]
    statuses = ["success"] * 7 + ["failure", "cancelled", "running"]
    run_ids = ids("run", RUNS - 1)
    await copies(
        runtime,
        PipelineRunRow.__table__,  # type: ignore[arg-type]
        run_template,
        (
            {
                "id": run_id,
                "number": i + 2,
                "status": rng.choice(statuses),
                "created_at": now - timedelta(minutes=RUNS - i),
            }
            for i, run_id in enumerate(run_ids)
        ),
    )
    await copies(
        runtime,
        step_table,
        {},
        (
            {**step, "id": f"{run_id}_{n}", "run_id": run_id, "status": "success"}
            for run_id in run_ids
            for n, step in enumerate(step_templates)
        ),
    )

    story = await stories.create_story(
        runtime.uow(), stories.StoryDraft(title="Bench story", description="Benchmark"), ADMIN
    )
    epic = await stories.create_epic(runtime.uow(), "Bench epic", ADMIN)
    story_template = await template_of(runtime, StoryRow, story.id)
    story_ids = ids("sty", STORIES - 1)
    story_states = ["backlog", "ready", "in_progress", "review", "done"]
    await copies(
        runtime,
        StoryRow.__table__,  # type: ignore[arg-type]
        story_template,
        (
            {
                "id": story_id,
                "title": f"Story {i}",
                "status": story_states[i % len(story_states)],
                "epic_id": epic.id,
                "created_at": now - timedelta(minutes=i),
                **({"key": None} if "key" in story_template else {}),
            }
            for i, story_id in enumerate(story_ids)
        ),
    )

    agent = await agents.start_agent(
        runtime.uow(),
        runtime.settings,
        agents.StartAgent(type="story-developer", task="bench", provider="openai", model="m"),
        ADMIN,
    )
    agent_template = await template_of(runtime, AgentRow, agent.id)
    agent_ids = ids("agt", AGENTS - 1)
    agent_states = ["completed"] * 6 + ["failed", "cancelled", "running", "waiting_for_approval"]
    await copies(
        runtime,
        AgentRow.__table__,  # type: ignore[arg-type]
        agent_template,
        (
            {
                "id": agent_id,
                "state": rng.choice(agent_states),
                "created_at": now - timedelta(minutes=i),
                "updated_at": now - timedelta(minutes=i),
            }
            for i, agent_id in enumerate(agent_ids)
        ),
    )
    message_table = AgentMessageRow.__table__
    assert isinstance(message_table, Table)
    long_agent = agent_ids[0]
    await copies(
        runtime,
        message_table,
        {"agent_id": long_agent, "created_at": now},
        (_message(n) for n in range(TRANSCRIPT)),
    )

    pr_ids = ids("pr", PULL_REQUESTS)
    await copies(
        runtime,
        PullRequestRow.__table__,  # type: ignore[arg-type]
        {
            "forge": "github",
            "repository": "bench/app",
            "repository_key": "bench/app",
            "base": "main",
            "head_sha": "0" * 40,
            "draft": False,
            "story_id": story.id,
            "agent_id": agent.id,
            "merged_at": None,
            "shepherd_state": "active",
            "shepherd_move": "wait",
            "shepherd_reason": "checks pending",
            "shepherd_moved_at": now,
            "shepherd_stopped_at_head": None,
            "shepherd_lease_owner": None,
            "shepherd_lease_until": None,
            "shepherd_ticks": 1,
            "shepherd_next_at": None,
        },
        (
            {
                "id": pr_id,
                "number": i + 1,
                "url": f"https://github.example/bench/app/pull/{i + 1}",
                "branch": f"orchestrate/bench-{i}",
                "state": "merged" if i % 3 else "open",
                "title": f"Pull request {i}",
                "opened_at": now - timedelta(minutes=i),
                "updated_at": now - timedelta(minutes=i),
            }
            for i, pr_id in enumerate(pr_ids)
        ),
    )

    types = ["agent.turn_recorded", "pipeline.step_succeeded", "pull_request.shepherd_moved"]
    await copies(
        runtime,
        EventRow.__table__,  # type: ignore[arg-type]
        {"payload": {"bench": True}, "version": 1},
        (
            {
                "type": types[i % 3],
                "subject": (run_ids, agent_ids, pr_ids)[i % 3][i % 900],
                "created_at": now - timedelta(seconds=EVENTS - i),
            }
            for i in range(EVENTS)
        ),
    )
    return {
        "run": run_ids[0],
        "agent": long_agent,
        "story": story.id,
        "epic": epic.id,
        "pull_request": "bench/app/1",
    }


def _message(seq: int) -> dict[str, Any]:
    """A transcript message as the runtime stores it: the model calls a tool, the tool answers."""
    if seq % 2 == 0:
        content = [
            {"type": "text", "text": f"Step {seq}: reading the next file."},
            {
                "type": "tool_use",
                "id": f"call_{seq}",
                "name": "read_file",
                "input": {"path": f"src/module_{seq}.py"},
            },
        ]
        return {"seq": seq, "role": "assistant", "content": content}
    result = {
        "type": "tool_result",
        "tool_use_id": f"call_{seq - 1}",
        "content": "def f():\n    return 1\n" * 40,
        "is_error": False,
    }
    return {"seq": seq, "role": "user", "content": [result]}


async def count_rows(runtime: Runtime) -> dict[str, int]:
    found = {}
    async with runtime.uow(read_only=True) as uow:
        for name, model in (
            ("runs", PipelineRunRow),
            ("agents", AgentRow),
            ("pull requests", PullRequestRow),
            ("stories", StoryRow),
            ("events", EventRow),
        ):
            found[name] = int(await uow.session.scalar(select(func.count()).select_from(model)))
    return found


async def page_times(
    runtime: Runtime, some: dict[str, str], requests: int
) -> list[tuple[str, int, float, float]]:
    """(path, status, p50 ms, p95 ms) for every page, signed in as an operator."""
    token = await create_token(runtime.uow(), "bench-operator", Role.OPERATOR, ADMIN)
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as web:
        signed = await web.post("/ui/login", data={"token": token.secret})
        assert signed.status_code == 303, signed.text
        home = await web.get("/ui/")
        menu = home.text.split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
        paths = re.findall(r'href="(/ui/[^"]*)"', menu)
        paths += [
            f"/ui/runs/{some['run']}",
            f"/ui/agents/{some['agent']}",
            f"/ui/pull-requests/{some['pull_request']}",
            f"/ui/stories/{some['story']}",
            f"/ui/epics/{some['epic']}",
        ]
        results = []
        for path in paths:
            first = await web.get(path)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await web.get(path)
                times.append((time.perf_counter() - started) * 1000)
            results.append((path, first.status_code, percentile(times, 50), percentile(times, 95)))
            if response.status_code != 200:
                print(f"  {path}: {response.status_code}", file=sys.stderr)
    return results


def live_delays(
    db_url: str, home: Path, pages: int, changes: int, browser_nice: int = 0
) -> list[float]:
    """Delays (ms) from an agent's creation committing to the agents table changing on each
    of ``pages`` open pages, ``changes`` times. ``browser_nice``: the browsers' niceness
    (0: the same priority as ``serve``)."""
    from playwright.sync_api import sync_playwright

    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env.update(
        ORCHESTRATE_HOME=str(home),
        ORCHESTRATE_DATABASE_URL=db_url,
        ORCHESTRATE_LOG_LEVEL="warning",
        ORCHESTRATE_MAX_STREAMS_PER_TOKEN=str(pages + 5),
    )
    port = 18000 + random.randrange(2000)
    serve = subprocess.Popen(
        [sys.executable, "-m", "orchestrate", "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(home / "serve.log").open("w"),
    )
    print(f"serve's log: {home / 'serve.log'}", file=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        settings = Settings(home=home, database_url=db_url)
        secret = asyncio.run(_token(settings))
        delays: list[float] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=_chromium(home, browser_nice),
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-dev-shm-usage",
                ],
            )
            # Each page its own browser context: 50 people, each with their own stream.
            first = browser.new_context()
            login = first.new_page()
            login.goto(f"{url}/ui/login")
            login.fill("#token", secret)
            login.click("button[type=submit]")
            login.wait_for_url(f"{url}/ui/")
            state = first.storage_state()
            opened = []
            for _ in range(pages):
                # bypass_csp: Playwright evaluates its waits as strings in the page.
                context = browser.new_context(storage_state=state, bypass_csp=True)
                page = context.new_page()
                page.goto(f"{url}/ui/agents")
                page.wait_for_function(
                    "document.getElementById('live-status').textContent === 'Live'"
                )
                opened.append(page)
            watch = """() => {
                window.__changedAt = null;
                const observer = new MutationObserver(() => {
                  if (window.__changedAt === null) window.__changedAt = Date.now();
                });
                observer.observe(document.querySelector('main'), {childList: true, subtree: true});
            }"""
            cpu_before = _cpu_seconds(serve.pid)
            browsers_before = _chromium_cpu_seconds()
            for _ in range(changes):
                for page in opened:
                    page.evaluate(watch)
                # Playwright's sync API owns this thread's event loop: commit from another.
                with ThreadPoolExecutor(1) as pool:
                    committed = pool.submit(asyncio.run, _start_agent(settings)).result()
                deadline = time.time() + 15
                waiting = list(opened)
                # Each page notes when it changed; look only after the changes are due,
                # so that asking fifty pages does not take the CPU they need to change.
                time.sleep(1.0)
                while waiting and time.time() < deadline:
                    for page in list(waiting):
                        changed = page.evaluate("window.__changedAt")
                        if changed is not None:
                            delays.append(float(changed) - committed)
                            waiting.remove(page)
                    time.sleep(0.25)
                if waiting:
                    for page in waiting[:5]:
                        print(
                            "  not changed:",
                            page.evaluate("document.body.dataset.lastEventId"),
                            page.inner_text("#live-status"),
                            page.inner_text("#agents-table tbody tr td"),
                            file=sys.stderr,
                        )
                    raise RuntimeError(f"{len(waiting)} pages did not change within 15 s")
                time.sleep(0.5)
            serve_cpu = _cpu_seconds(serve.pid) - cpu_before
            browsers_cpu = _chromium_cpu_seconds() - browsers_before
            browser.close()
        print(
            f"serve's CPU: {serve_cpu:.2f} s for {changes} changes "
            f"({serve_cpu / changes * 1000:.0f} ms per change, {pages} pages refreshing); "
            f"Chromium's: {browsers_cpu:.2f} s ({browsers_cpu / changes * 1000:.0f} ms per "
            f"change, {browsers_cpu / changes / pages * 1000:.0f} ms per page and change)",
            file=sys.stderr,
        )
        return delays
    finally:
        serve.terminate()
        serve.wait(30)


def _chromium(home: Path, nice: int) -> str:
    """Debian's Chromium, started at niceness ``nice`` (its processes inherit it)."""
    if nice == 0:
        return "/usr/bin/chromium"
    wrapper = home / "chromium-nice"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {nice} /usr/bin/chromium "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _chromium_cpu_seconds() -> float:
    """User and system CPU time so far of every Chromium process on the machine (Linux)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "chromium":
                continue
            total += _cpu_seconds(int(entry.name))
        except OSError:
            continue  # it ended meanwhile
    return total


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _token(settings: Settings) -> str:
    runtime = Runtime.open(settings)
    try:
        issued = await create_token(runtime.uow(), f"live-{time.time_ns()}", Role.VIEWER, ADMIN)
        return issued.secret
    finally:
        await runtime.close()


async def _start_agent(settings: Settings) -> float:
    """Start an agent (no worker runs it); the wall-clock ms just after its commit."""
    runtime = Runtime.open(settings)
    try:
        await agents.start_agent(
            runtime.uow(),
            runtime.settings,
            agents.StartAgent(type="story-developer", task="live", provider="openai", model="m"),
            ADMIN,
        )
        return time.time() * 1000
    finally:
        await runtime.close()


async def filled_and_timed(settings: Settings, requests: int) -> dict[str, Any]:
    runtime = Runtime.open(settings)
    try:
        started = time.perf_counter()
        some = await fill(runtime)
        filled = time.perf_counter() - started
        counts = await count_rows(runtime)
        pages = await page_times(runtime, some, requests)
    finally:
        await runtime.close()
    return {"filled": filled, "counts": counts, "pages": pages}


def measure(kind: str, server: str | None, args: argparse.Namespace) -> dict[str, Any]:
    database = Database(kind, server)  # migrates with its own event loop: outside ours
    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    try:
        settings = Settings(home=home, database_url=database.url)
        result = asyncio.run(filled_and_timed(settings, args.requests))
        live = (
            live_delays(database.url, home, args.pages, args.changes, args.browser_nice)
            if args.live
            else []
        )
    finally:
        database.drop()
    return {"kind": kind, **result, "live": live}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        help="Run the browsers at this niceness (10: they stand in for browsers on other "
        "machines and take only the CPU serve leaves; 0: equal priority).",
    )
    parser.add_argument("--postgres", default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    configure_logging("warning")
    warnings.simplefilter("ignore")
    # Agents are started, never run (no worker takes their jobs): a key is only checked.
    os.environ.setdefault("OPENAI_API_KEY", "bench-never-used")
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    print(f"Machine: {machine()}; date {datetime.now(UTC):%Y-%m-%d}\n")
    for kind in kinds:
        if kind == "postgresql" and not args.postgres:
            print("PostgreSQL skipped: pass --postgres URL")
            continue
        result = measure(kind, args.postgres, args)
        counts = ", ".join(f"{n:,} {name}" for name, n in result["counts"].items())
        print(f"### {kind}: {counts} (filled in {result['filled']:.0f} s)\n")
        print("| page | status | p50 ms | p95 ms |")
        print("|---|---:|---:|---:|")
        for path, status, p50, p95 in result["pages"]:
            print(f"| `{path}` | {status} | {p50:.1f} | {p95:.1f} |")
        if result["live"]:
            live = result["live"]
            print(
                f"\nLive delay, {args.pages} pages x {args.changes} changes: "
                f"p50 {percentile(live, 50):.0f} ms, p95 {percentile(live, 95):.0f} ms, "
                f"max {max(live):.0f} ms"
            )
        print(json.dumps({"kind": kind, "live_samples": len(result["live"])}))


if __name__ == "__main__":
    main()
