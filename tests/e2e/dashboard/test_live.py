"""Live pages in Chromium: a change made by another process appears on every open tab,
without a reload, however many tabs are open."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

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
        agent_id = started.stdout.strip()

        for tab in tabs:  # every tab, the seventh and eighth too: one shared stream
            expect(tab.get_by_role("link", name=agent_id)).to_be_visible(timeout=5000)
        SCREENSHOTS.mkdir(exist_ok=True)
        tabs[-1].screenshot(path=str(SCREENSHOTS / "live_on_every_tab.png"), full_page=True)
    finally:
        context.close()
