"""Pipelines and runs in Chromium: real pages over a real serve, live without reloads.

Data is made through the CLI against the serve's home, as an operator would; ``run``
steps execute in the bubblewrap sandbox (``make sandbox-tools``), so a run takes about
a second a step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.dashboard.conftest import (
    Dashboard,
    assert_accessible,
    expect_console_error,
    running_dashboard,
    sign_in,
)
from tests.e2e.processes import Background, clean_env, cli

pytestmark = pytest.mark.slow

LIVE = 30_000  # ms: a run of a few sandboxed steps, seen through the live stream

TYPED = """\
name: typed
description: Greets someone, one step after another.
on:
  schedule:
    - cron: "0 3 * * *"
inputs:
  who: {type: string, required: true, description: Whom to greet}
  times: {type: number, default: 2}
  loud: {type: boolean, default: false}
  color: {type: choice, options: [red, blue], default: blue}
steps:
  - id: build
    run: |
      echo "building for ${{ inputs.who }}"
      echo "artifact=app-${{ inputs.who }}.tar" >> "$ORCHESTRATE_OUTPUT"
  - id: test
    needs: build
    run: echo "testing ${{ inputs.times }} times"
  - id: lint
    needs: build
    run: echo linted
  - id: ship
    needs: [build, test, lint]
    run: echo "shipping ${{ needs.build.outputs.artifact }}"
"""

GATED = """\
name: gated
description: Build, wait for an operator, then ship.
steps:
  - id: build
    run: echo built
  - id: release
    needs: build
    approval:
      approvers: [e2e-operator]
  - id: ship
    needs: release
    run: echo "shipped after ${{ needs.release.outputs.approved_by }}"
"""

WORKED = """\
name: worked
steps:
  - id: fetch
    run: echo "fetched by the separate worker"
  - id: report
    needs: fetch
    run: echo reported
"""


def create(env: dict[str, str], tmp_path: Path, text: str) -> None:
    path = tmp_path / "pipeline.yml"
    path.write_text(text)
    created = cli(env, "pipeline", "create", str(path))
    assert created.returncode == 0, created.stderr


def start(env: dict[str, str], name: str, *inputs: str, wait: bool = False) -> str:
    """Trigger a run from the CLI; its id."""
    args = [arg for pair in inputs for arg in ("--input", pair)]
    started = cli(env, "pipeline", "trigger", name, *args, "--json", *(["--wait"] if wait else []))
    assert started.returncode in (0, 1), started.stderr
    run_id: str = json.loads(started.stdout)["id"]
    return run_id


def node(page: Page, step: str) -> Locator:
    return page.locator(f'svg.dag a[data-step="{step}"]')


def mark_page(page: Page) -> None:
    """A mark that a reload would wipe out: proof that what follows happened live."""
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true")


def test_the_pipeline_and_run_pages_show_real_data_and_pass_axe(
    page: Page, dashboard: Dashboard, tmp_path: Path
) -> None:
    create(dashboard.env, tmp_path, TYPED)
    run_id = start(dashboard.env, "typed", "who=ada", wait=True)
    sign_in(page, dashboard, "operator")

    page.goto(f"{dashboard.url}/ui/pipelines")
    expect(page.get_by_role("link", name="typed", exact=True)).to_be_visible()
    expect(page.locator("#pipelines-table .badge")).to_have_text("success")
    assert_accessible(page)

    page.get_by_role("link", name="typed", exact=True).click()
    expect(page.get_by_role("heading", name="typed", level=1)).to_be_visible()
    expect(page.get_by_text("Schedule: cron 0 3 * * * (UTC)")).to_be_visible()
    expect(page.get_by_role("group", name="Step graph of typed")).to_be_visible()
    expect(page.locator('[name="input.color"]')).to_have_value("blue")
    assert_accessible(page)

    page.goto(f"{dashboard.url}/ui/runs?pipeline=typed")
    expect(page.get_by_role("link", name="typed #1")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="typed #1").click()
    expect(page).to_have_url(f"{dashboard.url}/ui/runs/{run_id}")
    expect(page.locator(".run-status .badge")).to_have_text("success")
    expect(page.locator('pre[data-step="build"]')).to_contain_text("building for ada")
    expect(page.get_by_role("cell", name="app-ada.tar")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Run finished")
    assert_accessible(page)

    page.locator('svg.dag a[data-step="ship"]').click()
    expect(page).to_have_url(re.compile(r"#step-ship$"))

    page.get_by_role("link", name="Whole log, page by page").first.click()
    expect(page.get_by_role("heading", name="Log of build")).to_be_visible()
    assert_accessible(page)


def test_a_run_started_from_the_form_turns_green_step_by_step_live(
    page: Page, dashboard: Dashboard, tmp_path: Path
) -> None:
    create(dashboard.env, tmp_path, TYPED)
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/pipelines/typed")

    expect_console_error(page, "status of 422")  # the refused form comes back as a 422
    page.locator('[name="input.times"]').fill("many")
    page.locator('[name="input.who"]').fill("grace")
    page.get_by_role("button", name="Start a run").click()
    expect(page.get_by_role("alert")).to_contain_text("must be a number")
    expect(page.locator('[name="input.who"]')).to_have_value("grace")

    page.locator('[name="input.times"]').fill("3")
    page.get_by_role("button", name="Start a run").click()
    expect(page).to_have_url(re.compile(r"/ui/runs/prun_"))
    expect(page.get_by_text(re.compile(r"Started run #\d+ of typed"))).to_be_visible()
    mark_page(page)

    expect(node(page, "ship")).to_have_class(re.compile(r"\bgood\b"), timeout=LIVE)
    expect(page.locator(".run-status .badge")).to_have_text("success", timeout=LIVE)
    expect(page.locator('pre[data-step="test"]')).to_contain_text("testing 3 times")
    expect(page.locator('pre[data-step="ship"]')).to_contain_text("shipping app-grace.tar")
    assert_not_reloaded(page)
    assert_accessible(page)


def test_approving_a_waiting_step_from_the_browser_lets_the_run_finish_live(
    page: Page, dashboard: Dashboard, tmp_path: Path
) -> None:
    create(dashboard.env, tmp_path, GATED)
    run_id = start(dashboard.env, "gated")
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/runs/{run_id}")

    approve = page.get_by_role("button", name="Approve release")
    expect(approve).to_be_visible(timeout=LIVE)  # appears live once build is done
    expect(node(page, "release")).to_have_class(re.compile(r"\bwarn\b"))
    assert_accessible(page)
    page.get_by_label("Comment on your decision (optional)").fill("go ahead")
    approve.click()
    expect(page.get_by_text("Approved release.")).to_be_visible()
    mark_page(page)

    expect(page.locator(".run-status .badge")).to_have_text("success", timeout=LIVE)
    expect(node(page, "ship")).to_have_class(re.compile(r"\bgood\b"))
    expect(page.locator('pre[data-step="ship"]')).to_contain_text("shipped after e2e-operator")
    expect(page.locator("#step-release")).to_contain_text("“go ahead”")
    assert_not_reloaded(page)


def test_the_editor_shows_problems_at_their_lines_then_saves_and_deletes(
    page: Page, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/pipelines/new")
    assert_accessible(page)
    editor = page.get_by_label("Pipeline YAML")
    broken = "name: edited\nsteps:\n  - id: a\n    run: echo a\n    needz: b\n"
    editor.fill(broken)

    expect_console_error(page, "status of 422")  # the editor comes back as a 422
    page.get_by_role("button", name="Create pipeline").click()

    problem = page.get_by_role("link", name="Line 5, column 5")
    expect(problem).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("nothing was saved")
    expect(page.locator("#yaml-lines")).to_contain_text("5")
    assert_accessible(page)
    problem.click()
    selected = page.evaluate(
        "(() => { const t = document.getElementById('yaml');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
    )
    assert selected == "    needz: b"

    editor.fill(broken.replace("needz: b", "timeout: 5m"))
    page.get_by_role("button", name="Create pipeline").click()
    expect(page).to_have_url(f"{dashboard.url}/ui/pipelines/edited")
    expect(page.get_by_text("Saved edited, version 1.")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete pipeline").click()
    expect(page).to_have_url(f"{dashboard.url}/ui/pipelines")
    expect(page.get_by_text("Deleted the pipeline edited")).to_be_visible()
    expect(page.get_by_role("link", name="edited", exact=True)).to_have_count(0)


@pytest.fixture(scope="module")
def quiet_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``serve --no-worker``: every job waits for a worker the test starts itself."""
    home = tmp_path_factory.mktemp("quiet") / "home"
    env = clean_env(home, LOG_LEVEL="warning")
    with running_dashboard(env, args=["--no-worker"]) as running:
        yield running


def test_steps_run_by_a_separate_worker_process_turn_green_live(
    page: Page, quiet_dashboard: Dashboard, tmp_path: Path
) -> None:
    env = quiet_dashboard.env
    create(env, tmp_path, WORKED)
    run_id = start(env, "worked")
    sign_in(page, quiet_dashboard, "operator")
    page.goto(f"{quiet_dashboard.url}/ui/runs/{run_id}")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(node(page, "fetch")).not_to_have_class(re.compile(r"\bgood\b"))
    mark_page(page)

    worker = Background(env, "worker")
    try:
        expect(node(page, "report")).to_have_class(re.compile(r"\bgood\b"), timeout=LIVE)
        expect(node(page, "fetch")).to_have_class(re.compile(r"\bgood\b"))
        expect(page.locator('pre[data-step="fetch"]')).to_contain_text(
            "fetched by the separate worker"
        )
        expect(page.locator(".run-status .badge")).to_have_text("success", timeout=LIVE)
    finally:
        worker.stop()
    assert_not_reloaded(page)
