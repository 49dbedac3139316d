"""Live pages in Chromium: a change made by another process appears on every open tab,
without a reload, however many tabs are open: pushed in the stream, or fetched by a tab
the stream does not push for."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, Request, Route, expect

from tests.e2e.dashboard.conftest import SCREENSHOTS, Dashboard, empty_repository, sign_in
from tests.e2e.processes import cli

pytestmark = pytest.mark.slow

TABS = 8  # more than the six connections a browser opens to one server


def test_an_agent_started_from_the_cli_appears_on_every_open_tab(
    browser: Browser, dashboard: Dashboard, tmp_path: Path
) -> None:
    context = browser.new_context()
    try:
        first = context.new_page()
        sign_in(first, dashboard, "viewer")
        tabs = [first, *(context.new_page() for _ in range(TABS - 1))]
        for tab in tabs:
            tab.goto(f"{dashboard.url}/ui/agents")
            expect(tab.locator("#live-status")).to_have_text("Live")
        for tab in tabs:  # the shared stream, reopened as tabs came, pushes for all of them
            expect(tab.locator("#live-status")).to_have_attribute("data-pushed", "true")
        fetched: list[str] = []
        for tab in tabs:
            tab.on("request", lambda request: _note_part_fetch(request, fetched))

        agent_id = _start_agent(dashboard, tmp_path)

        for tab in tabs:  # every tab, the seventh and eighth too: one shared stream
            expect(tab.get_by_role("link", name=agent_id)).to_be_visible(timeout=5000)
        assert fetched == []  # the table came rendered in the stream: no tab asked for it
        SCREENSHOTS.mkdir(exist_ok=True)
        tabs[-1].screenshot(path=str(SCREENSHOTS / "live_on_every_tab.png"), full_page=True)
    finally:
        context.close()


def test_a_tab_the_stream_does_not_push_for_fetches_its_part(
    browser: Browser, dashboard: Dashboard, tmp_path: Path
) -> None:
    context = browser.new_context()
    # A browser without shared workers (its own stream), whose stream reaches the server
    # without the list of parts, as through a proxy that drops it.
    context.add_init_script("delete window.SharedWorker;")
    context.route("**/ui/events?*", _without_watch)
    try:
        tab = context.new_page()
        sign_in(tab, dashboard, "viewer")
        tab.goto(f"{dashboard.url}/ui/agents")
        expect(tab.locator("#live-status")).to_have_text("Live")
        expect(tab.locator("#live-status")).to_have_attribute("data-pushed", "false")
        fetched: list[str] = []
        tab.on("request", lambda request: _note_part_fetch(request, fetched))

        agent_id = _start_agent(dashboard, tmp_path)

        expect(tab.get_by_role("link", name=agent_id)).to_be_visible(timeout=5000)
        assert "agents-table" in fetched
    finally:
        context.close()


def _without_watch(route: Route) -> None:
    url = urlsplit(route.request.url)
    query = urlencode([(k, v) for k, v in parse_qsl(url.query) if k != "watch"])
    route.continue_(url=urlunsplit(url._replace(query=query)))


def _note_part_fetch(request: Request, fetched: list[str]) -> None:
    part = request.headers.get("hx-target")
    if part:
        fetched.append(part)


def _start_agent(dashboard: Dashboard, tmp_path: Path) -> str:
    started = cli(
        {**dashboard.env, "OPENAI_API_KEY": "never-used-no-worker-runs-it"},
        "agent",
        "start",
        "story-developer",
        "--task",
        "Appear everywhere",
        "--repo",
        str(empty_repository(tmp_path / "project")),
        "--provider",
        "openai",
        "--model",
        "m",
    )
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()
