"""The pull request, repository, schedule and webhook pages in Chromium, against a real
``orchestrate serve`` that the fake GitHub sends its webhooks to.

Everything is seeded as a user would: the repository, the pipeline and the schedule
through the CLI; the pull request opened and labelled ``orchestrate`` on the (fake)
forge, whose webhook the server receives, adopts it from, and shepherds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from orchestrate.testing import FakeGitHub
from tests.e2e.dashboard.conftest import Dashboard, assert_accessible, sign_in
from tests.e2e.processes import Server, clean_env, cli, create_token, free_port
from tests.integration.delivery.conftest import make_project

pytestmark = pytest.mark.slow

REPO = "octo/app"
SECRET = "e2e-webhook-secret"
PIPELINE = """\
name: on-label
on:
  github:
    - event: pull_request
      actions: [labeled]
      repositories: [octo/app]
steps:
  - id: greet
    run: echo labelled
"""


def wait_for(check: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(REPO)
        yield fake


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, github: FakeGitHub) -> Iterator[Dashboard]:
    """``serve`` on SQLite, talking to the fake GitHub, with a repository, a pipeline, a
    schedule and a pull request the forge's webhooks brought in."""
    root = tmp_path_factory.mktemp("forge-pages")
    env = clean_env(
        root / "home",
        LOG_LEVEL="warning",
        GITHUB_API_URL=github.api_url,
        GITHUB_TOKEN=github.token,
        GITHUB_WEBHOOK_SECRET=SECRET,
        SHEPHERD_POLL_SECONDS="600",
    )
    assert cli(env, "db", "upgrade").returncode == 0
    admin = create_token(env, "e2e-admin", "admin")
    project = make_project(root / "project", root / "remote.git")
    server = Server(env, free_port())
    try:
        tokens = {"admin": admin} | seed(server.url, admin, project.work_tree)
        github.add_webhook(f"{server.url}/webhooks/github", secret=SECRET)
        open_labelled_pull_request(github)
        yield Dashboard(server, env, tokens)
    finally:
        server.stop()


def seed(url: str, admin: str, work_tree: Path) -> dict[str, str]:
    """Through the API (one process, where a CLI command costs a Python start-up each):
    the tokens of the other roles, the repository, the pipeline and a schedule of it."""
    tokens = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as http:
        for role in ("operator", "viewer"):
            made = http.post("/api/tokens", json={"name": f"e2e-{role}", "role": role})
            assert made.status_code == 201, made.text
            tokens[role] = made.json()["token"]
        for path, body in (
            ("/api/repositories", {"source": str(work_tree), "name": REPO}),
            ("/api/pipelines", {"yaml": PIPELINE}),
            (
                "/api/schedules",
                {"name": "nightly-build", "cron": "0 3 * * *", "pipeline": "on-label"},
            ),
        ):
            created = http.post(path, json=body)
            assert created.status_code == 201, created.text
    return tokens


def open_labelled_pull_request(
    github: FakeGitHub, branch: str = "feature-login", title: str = "Sign in with a token"
) -> None:
    """A person opens a pull request on the forge and labels it for Orchestrate."""
    github.push_branch(REPO, branch)
    headers = {"Authorization": f"Bearer {github.token}"}
    with httpx.Client(base_url=github.api_url, headers=headers) as forge:
        made = forge.post(
            f"/repos/{REPO}/pulls", json={"head": branch, "base": "main", "title": title}
        )
        assert made.status_code == 201, made.text
        labelled = forge.post(
            f"/repos/{REPO}/issues/{made.json()['number']}/labels", json={"labels": ["orchestrate"]}
        )
        assert labelled.status_code == 200, labelled.text


def api(dashboard: Dashboard) -> httpx.Client:
    return httpx.Client(
        base_url=dashboard.url,
        headers={"Authorization": f"Bearer {dashboard.tokens['admin']}"},
    )


def adopted_number(dashboard: Dashboard) -> int:
    """The pull request's number once the server has adopted and looked at it."""

    def looked() -> bool:
        with api(dashboard) as http:
            items = http.get("/api/pull-requests").json()["items"]
        return bool(items) and items[0]["shepherd"]["move"] is not None

    wait_for(looked, "the webhook's pull request to be adopted and looked at")
    with api(dashboard) as http:
        number: int = http.get("/api/pull-requests").json()["items"][0]["number"]
    return number


def test_each_page_renders_with_real_data_and_passes_axe(page: Page, dashboard: Dashboard) -> None:
    number = adopted_number(dashboard)
    sign_in(page, dashboard, "operator")

    page.get_by_role("link", name="Pull requests").click()
    expect(page.get_by_role("heading", name="Pull requests", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=f"#{number} Sign in with a token").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{REPO}#{number}")
    expect(page.locator("#pull-request")).to_contain_text("0 approval(s) of 1 required")
    expect(page.get_by_role("button", name="Ask the shepherd to look now")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Repositories").click()
    assert_accessible(page)
    page.get_by_role("link", name=REPO).first.click()
    expect(page.get_by_role("heading", name="Merge policy")).to_be_visible()
    expect(page.get_by_role("link", name=f"#{number} Sign in with a token")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Schedules").click()
    expect(page.get_by_role("link", name="nightly-build")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="New schedule").click()
    expect(page.get_by_label("Cron expression")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("cell", name="pull_request.labeled")).to_be_visible()
    assert_accessible(page)


def test_an_operator_pauses_a_schedule_and_triggers_it_from_the_browser(
    page: Page, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/schedules")
    page.get_by_role("link", name="nightly-build").click()
    assert_accessible(page)

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status").filter(has_text="Paused nightly-build")).to_be_visible()
    expect(page.get_by_text("None while paused.")).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    page.get_by_role("button", name="Trigger now").click()
    expect(page.get_by_role("status").filter(has_text="Fired now (started)")).to_be_visible()
    fires = page.locator("#schedule-fires")
    expect(fires.get_by_text("(by hand)")).to_be_visible()
    expect(fires.locator('a[href^="/ui/runs/"]')).to_have_count(1)
    assert_accessible(page)


def test_a_schedule_made_with_the_form_and_deleted_after_a_confirmation(
    page: Page, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/schedules/new")
    page.get_by_label("Name").fill("weekday-mornings")
    page.get_by_label("Cron expression").fill("0 9 * * 1-5")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Pipeline", exact=True).fill("on-label")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="Schedule weekday-mornings")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{dashboard.url}/ui/schedules")
    expect(page.locator(".flash")).to_contain_text("Deleted schedule weekday-mornings")
    expect(page.get_by_role("link", name="weekday-mornings")).to_have_count(0)


def test_a_webhook_deliverys_page_shows_its_routing(page: Page, dashboard: Dashboard) -> None:
    adopted_number(dashboard)
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.url}/ui/webhooks?event=pull_request")
    row = page.get_by_role("row").filter(has_text="pull_request.labeled").last
    expect(row.get_by_text("processed")).to_be_visible()
    row.get_by_role("link").click()

    when_processed = "Each pipeline's verdict when the delivery was processed"
    routing = page.get_by_role("table", name=when_processed)
    expect(routing.get_by_role("row").filter(has_text="on-label")).to_contain_text("matched")
    expect(page.get_by_role("heading", name="Pipeline runs")).to_be_visible()
    expect(page.locator('a[href^="/ui/runs/"]')).to_have_count(1)
    expect(page.get_by_role("link", name=f"{REPO}#", exact=False)).to_be_visible()
    expect(page.locator("pre.payload")).to_contain_text('"action": "labeled"')
    assert_accessible(page)


def test_a_pull_request_the_forge_sends_appears_on_open_pages_without_a_reload(
    page: Page, dashboard: Dashboard, github: FakeGitHub
) -> None:
    adopted_number(dashboard)
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.url}/ui/pull-requests")
    expect(page.locator("#live-status")).to_have_text("Live")
    page.evaluate("document.body.dataset.marker = 'not reloaded'")

    open_labelled_pull_request(github, "feature-logout", "Sign out everywhere")

    expect(page.get_by_role("link", name="Sign out everywhere")).to_be_visible(timeout=15_000)
    assert page.evaluate("document.body.dataset.marker") == "not reloaded"
