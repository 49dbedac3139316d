"""The agent pages in Chromium: a real agent's transcript, approving a waiting agent and
seeing it finish without a reload, and the approvals inbox.

The agents run inside ``orchestrate serve`` (its worker) against a fake Anthropic API
on 127.0.0.1, through the real ``anthropic`` SDK. The shared ``dashboard`` fixture has
no model, so this module starts its own serve with the fake's address and a tool that
waits for approval (``list_files``); the fake answers the module's agents in the order
each test adds their steps, one agent at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from orchestrate.testing import Delayed, FakeAnthropic, finish, text_reply, tool_call
from tests.e2e.dashboard.conftest import Dashboard, assert_accessible, running_dashboard, sign_in
from tests.e2e.processes import clean_env, cli
from tests.integration.agents.conftest import CALC, TEST_CALC, git

pytestmark = pytest.mark.slow

MODEL = "claude-sonnet-4-6"
GATED = "name: release\nsteps:\n  - id: ship-it\n    approval:\n      approvers: [e2e-operator]\n"
WAIT = 60
"""Seconds before a wait fails instead of hanging; it measures nothing."""


@pytest.fixture(scope="module")
def model() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as api:
        yield api


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("agents") / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return root


@pytest.fixture(scope="module")
def dashboard(
    tmp_path_factory: pytest.TempPathFactory, model: FakeAnthropic
) -> Iterator[Dashboard]:
    """``orchestrate serve`` whose agents talk to the fake model; ``list_files`` waits
    for a person's approval."""
    home = tmp_path_factory.mktemp("dashboard-agents") / "home"
    env = clean_env(home, LOG_LEVEL="warning", APPROVAL_TOOLS="list_files")
    env |= {"ANTHROPIC_BASE_URL": model.base_url, "ANTHROPIC_API_KEY": model.api_key or ""}
    with running_dashboard(env) as running:
        yield running


def start_agent(dashboard: Dashboard, repo: Path, task: str) -> str:
    started = cli(
        dashboard.env,
        "agent",
        "start",
        "explorer",
        "--task",
        task,
        "--repo",
        str(repo),
        "--provider",
        "anthropic",
        "--model",
        MODEL,
    )
    assert started.returncode == 0, started.stderr
    return started.stdout.strip()


def state_of(dashboard: Dashboard, agent_id: str) -> str:
    """The agent's state, read over the API (Playwright's loop rules out ``asyncio.run``
    in the test's thread, so no direct database read)."""
    response = httpx.get(
        f"{dashboard.url}/api/agents/{agent_id}",
        headers={"Authorization": f"Bearer {dashboard.tokens['viewer']}"},
    )
    assert response.status_code == 200, response.text
    state: str = response.json()["state"]
    return state


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting until {what}")


def wait_for_state(dashboard: Dashboard, agent_id: str, state: str) -> None:
    wait_until(lambda: state_of(dashboard, agent_id) == state, f"{agent_id} is {state}")


def test_the_agent_page_shows_a_real_run_with_its_tool_calls_and_passes_axe(
    page: Page, dashboard: Dashboard, model: FakeAnthropic, repo: Path
) -> None:
    model.add(
        text_reply("I will read calc.py.", model=MODEL),
        tool_call("read_file", {"path": "calc.py"}, model=MODEL),
        finish("completed", "add() subtracts instead of adding.", model=MODEL),
    )
    agent_id = start_agent(dashboard, repo, "Why does test_add fail?")
    wait_for_state(dashboard, agent_id, "completed")

    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.url}/ui/agents")
    page.get_by_role("link", name=agent_id).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(agent_id)
    expect(page.locator("#agent-state")).to_have_text("completed")
    transcript = page.locator("ol.transcript")
    expect(transcript).to_contain_text("I will read calc.py.")
    expect(transcript.locator(".tool-call code").first).to_have_text("read_file")
    expect(transcript).to_contain_text('"path": "calc.py"')
    expect(transcript.locator(".tool-result").first).to_contain_text("return a - b")
    expect(page.get_by_text("add() subtracts instead of adding.").first).to_be_visible()
    expect(page.get_by_role("meter", name="Turns used")).to_be_visible()
    assert_accessible(page)


def test_an_operator_approves_a_waiting_agent_and_sees_it_finish_without_a_reload(
    page: Page, dashboard: Dashboard, model: FakeAnthropic, repo: Path
) -> None:
    model.add(
        tool_call("list_files", {"pattern": "*.py"}, model=MODEL),
        # Slow enough that the page shows the run going on before it ends.
        Delayed(finish("completed", "Listed the Python files.", model=MODEL), 2.0),
    )
    agent_id = start_agent(dashboard, repo, "Which Python files are there?")
    wait_for_state(dashboard, agent_id, "waiting_for_approval")

    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/agents/{agent_id}")
    expect(page.locator("#agent-state")).to_have_text("waiting for approval")
    expect(page.locator(".waiting-calls")).to_contain_text('"pattern": "*.py"')
    assert_accessible(page)

    page.get_by_role("button", name="Approve").click()

    expect(page.locator(".flash")).to_contain_text(f"Approved: agent {agent_id}")
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#agent-state")).to_have_text("completed", timeout=WAIT * 1000)
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded"
    expect(page.locator("ol.transcript")).to_contain_text("calc.py")  # list_files' result
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)


def test_the_inbox_lists_what_waits_and_an_answer_sent_from_it_runs_the_agent_on(
    page: Page, dashboard: Dashboard, model: FakeAnthropic, repo: Path
) -> None:
    admin = {"Authorization": f"Bearer {dashboard.tokens['admin']}"}
    with httpx.Client(base_url=dashboard.url, headers=admin) as api:
        assert api.post("/api/pipelines", json={"yaml": GATED}).status_code == 201
        run = api.post("/api/pipelines/release/trigger", json={"inputs": {}})
        assert run.status_code == 201, run.text
        run_id = run.json()["id"]
    model.add(finish("needs_input", "Should I read the tests too?", model=MODEL))
    asking = start_agent(dashboard, repo, "Look at calc.py")
    wait_for_state(dashboard, asking, "waiting_for_input")

    sign_in(page, dashboard, "operator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    steps = page.locator("#inbox-pipelines")
    expect(steps).to_contain_text("ship-it", timeout=WAIT * 1000)
    expect(steps.get_by_role("link", name=f"release run {run_id}")).to_be_visible()
    questions = page.locator("#inbox-agent-questions")
    expect(questions).to_contain_text("Should I read the tests too?")
    assert_accessible(page)

    answer = questions.get_by_label("Your answer")
    answer.fill("Yes, read test_calc.py as well.")

    # An agent that starts waiting while the inbox is open appears without a reload, and
    # the refresh its events cause keeps what the person was typing.
    model.add(tool_call("list_files", {"pattern": "*.md"}, model=MODEL))
    waiting = start_agent(dashboard, repo, "Any docs?")
    expect(page.locator("#inbox-agent-approvals")).to_contain_text(waiting, timeout=WAIT * 1000)
    page.wait_for_timeout(500)  # the other part refreshed on the same events
    expect(answer).to_have_value("Yes, read test_calc.py as well.")

    model.add(finish("completed", "Read them as asked.", model=MODEL))
    questions.get_by_role("button", name="Send answer").click()

    expect(page).to_have_url(f"{dashboard.url}/ui/approvals")
    expect(page.locator(".flash")).to_contain_text(f"Answer sent: agent {asking} carries on")
    wait_for_state(dashboard, asking, "completed")
    finish_call = json.dumps(model.bodies[-1]["messages"][-1])
    assert "Yes, read test_calc.py as well." in finish_call

    page.locator("#inbox-pipelines").get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_contain_text("Approved step ship-it of release")
    expect(page.locator("#inbox-pipelines")).to_contain_text("No pipeline step waits on you.")

    # Leave nothing waiting on the shared fake model.
    cancelled = cli(dashboard.env, "agent", "cancel", waiting)
    assert cancelled.returncode == 0, cancelled.stderr
