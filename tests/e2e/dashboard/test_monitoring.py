"""The Monitoring page in Chromium: the SVG charts and a firing alert, acknowledged and
silenced through the page's forms, against a real ``orchestrate serve``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.dashboard.conftest import (
    Dashboard,
    assert_accessible,
    running_dashboard,
    sign_in,
)
from tests.e2e.processes import clean_env

# Run in a process of its own: Playwright's event loop rules out asyncio.run in this one.
# A rule, a failed pipeline run and an evaluation fire an alert the way a worker does.
SEED = """
import asyncio
from pathlib import Path
import os

from orchestrate.auth.service import Actor
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.monitoring.alerts import service
from orchestrate.pipelines.events import RunFailed

RULES = '''
rules:
  - name: pipeline-failures
    metric: pipeline_runs_failed
    window: 1h
    condition: "> 0"
    for: 0s
    severity: critical
    labels: {team: platform}
    annotations: {summary: "{{ $value }} pipeline runs failed"}
'''


async def main() -> None:
    runtime = Runtime.open(Settings(home=Path(os.environ["ORCHESTRATE_HOME"])))
    try:
        await service.apply_rules(runtime.uow(), "alerts.yml", RULES, Actor.local_cli())
        async with runtime.uow() as uow:
            record_event(uow, RunFailed(subject="run_e2e", pipeline="deploy", from_="running"))
            await uow.commit()
        await service.evaluate(runtime)
    finally:
        await runtime.close()


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    home = tmp_path_factory.mktemp("monitoring") / "home"
    with running_dashboard(clean_env(home, LOG_LEVEL="warning")) as running:
        seeded = subprocess.run(
            [sys.executable, "-c", SEED],
            env=running.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
        yield running


def test_the_monitoring_page_charts_acknowledges_and_silences(
    monitored: Dashboard, page: Page
) -> None:
    sign_in(page, monitored, "operator")
    page.get_by_role("link", name="Monitoring").click()
    page.wait_for_url(f"{monitored.url}/ui/monitoring")

    expect(page.get_by_role("heading", level=1)).to_have_text("Monitoring")
    # serve's own worker registered itself with its heartbeat
    expect(page.locator("dd", has_text="alive of")).to_contain_text("1 alive of 1")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(3)
    expect(page.get_by_role("img", name="Cost per day, last 14 days (UTC)")).to_be_visible()
    expect(page.locator("svg.chart .series-a polyline")).to_have_count(1)
    alert_row = page.locator("#alerts-table tbody tr", has_text="pipeline-failures")
    expect(alert_row).to_contain_text("firing")
    expect(alert_row).to_contain_text("team=platform")
    assert_accessible(page)

    alert_row.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_role("status").filter(has_text="Acknowledged alert")).to_be_visible()
    expect(alert_row).to_contain_text("by token:e2e-operator")
    expect(alert_row.get_by_role("button", name="Acknowledge")).to_have_count(0)

    page.get_by_label("Matchers").fill("team=platform")
    page.get_by_label("Duration").fill("1h")
    page.get_by_label("Comment").fill("deploying the fix")
    page.get_by_role("button", name="Silence", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Silenced alerts")).to_be_visible()
    silence_row = page.locator("#silences-table tbody tr", has_text="team=platform")
    expect(silence_row).to_contain_text("deploying the fix")
    expect(silence_row.get_by_role("button", name="End")).to_be_visible()


def test_a_viewer_sees_the_page_without_any_form(monitored: Dashboard, page: Page) -> None:
    sign_in(page, monitored, "viewer")
    page.goto(f"{monitored.url}/ui/monitoring")

    expect(page.locator("svg.chart")).to_have_count(3)
    expect(page.locator("#alerts-table")).to_contain_text("pipeline-failures")
    actions = page.locator("form[method=post]")
    assert [actions.nth(i).get_attribute("action") for i in range(actions.count())] == [
        "/ui/logout"
    ]
    assert_accessible(page)
