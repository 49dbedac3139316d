"""The stories board, a story's page and an epic's page with its run, in Chromium, on data
seeded through the CLI; creating, editing and moving a story and steering the run by
clicking; a story the CLI creates appearing on an open board without a reload."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.dashboard.conftest import (
    Dashboard,
    assert_accessible,
    expect_console_error,
    running_dashboard,
    sign_in,
)
from tests.e2e.processes import clean_env, cli

pytestmark = pytest.mark.slow

REPOSITORY = "octo/app"


@dataclass(frozen=True)
class Seeded:
    epic: str
    first: str
    second: str


def _repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work tree with one commit on main, pushed to a bare remote."""
    work_tree = tmp_path_factory.mktemp("repo") / "app"
    remote = work_tree.with_suffix(".git")
    git(work_tree.parent, "init", "-q", "--bare", "-b", "main", str(remote))
    work_tree.mkdir()
    git(work_tree, "init", "-q", "-b", "main")
    (work_tree / "README.md").write_text("app\n")
    git(work_tree, "add", ".")
    git(
        work_tree,
        "-c",
        "user.name=Dev",
        "-c",
        "user.email=dev@example.com",
        "commit",
        "-qm",
        "init",
    )
    git(work_tree, "remote", "add", "origin", str(remote))
    git(work_tree, "push", "-q", "origin", "main")
    return work_tree


def run(env: dict[str, str], *args: str) -> str:
    done = cli(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``orchestrate serve`` without its worker: the epic run this module starts stays
    where the test puts it (a worker would start its developer on a model there is none
    of here); the pages, the live feed and the forms need no worker."""
    root = tmp_path_factory.mktemp("dashboard-stories")
    env = clean_env(root / "home", LOG_LEVEL="warning")
    with running_dashboard(env, args=["--no-worker"]) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(dashboard: Dashboard, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """An epic of two stories (the second waits for the first), one ready and labelled,
    in a registered repository, and the epic's run started: the epic, the stories and the
    repository through the CLI, the rest through the API."""
    env = dashboard.env
    epic = run(env, "epic", "create", "--title", "Checkout", "--description", "Pay & ship")
    first = run(
        env,
        "story", "create",
        "--title", "Pay by card",
        "--epic", epic,
        "--description", "Card payments <b>only</b>.",
        "--criterion", "A card is charged once",
        "--criterion", "A declined card says why",
        "--label", "payments",
    )  # fmt: skip
    second = run(env, "story", "create", "--title", "Send the receipt", "--epic", epic)
    work_tree = str(_repository(tmp_path_factory))
    run(env, "repo", "add", work_tree, "--name", REPOSITORY, "--default-branch", "main")
    # The rest through the API: each CLI command costs a Python start-up.
    headers = {"Authorization": f"Bearer {dashboard.tokens['admin']}"}
    with httpx.Client(base_url=f"{dashboard.url}/api", headers=headers) as api:
        for story, change in ((second, {"depends_on": [first]}), (first, {"status": "ready"})):
            assert api.patch(f"/stories/{story}", json=change).status_code == 200
        assert api.post(f"/epics/{epic}/run", json={"repository": REPOSITORY}).status_code == 201
    return Seeded(epic, first, second)


def test_the_board_story_and_epic_pages_show_the_cli_s_data_and_pass_axe(
    page: Page, dashboard: Dashboard, seeded: Seeded
) -> None:
    sign_in(page, dashboard, "viewer")

    page.get_by_role("link", name="Stories", exact=True).click()
    ready = page.get_by_role("list", name="Ready stories")
    expect(ready.get_by_role("link", name="Pay by card")).to_be_visible()
    backlog = page.get_by_role("list", name="Backlog stories")
    expect(backlog.get_by_role("link", name="Send the receipt")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Label").fill("payments")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Send the receipt")).to_have_count(0)
    page.get_by_role("link", name="Table").click()
    expect(page.get_by_role("cell", name="Pay by card")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Pay by card").click()
    expect(page.get_by_role("heading", name="Pay by card", level=1)).to_be_visible()
    expect(page.get_by_text("Card payments <b>only</b>.")).to_be_visible()
    expect(page.get_by_text("A declined card says why")).to_be_visible()
    expect(page.get_by_text("backlog → ready, manual")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Epics", exact=True).click()
    expect(page.get_by_text("0 of 2 done")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Autonomous run")).to_be_visible()
    expect(page.locator("#epic-summary .badge", has_text="running")).to_be_visible()
    rows = page.locator("#epic-stories tbody tr")
    expect(rows.nth(0)).to_contain_text("Pay by card")
    expect(rows.nth(1)).to_contain_text("Send the receipt")
    expect(rows.nth(1)).to_contain_text("After Pay by card")
    assert_accessible(page)


def test_a_story_the_cli_creates_appears_on_an_open_board_without_a_reload(
    page: Page, dashboard: Dashboard, seeded: Seeded
) -> None:
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.url}/ui/stories?epic={seeded.epic}")
    expect(page.locator("#live-status")).to_have_text("Live")
    page.evaluate("window.notReloaded = true")

    run(dashboard.env, "story", "create", "--title", "Arrived live", "--epic", seeded.epic)

    backlog = page.get_by_role("list", name="Backlog stories")
    expect(backlog.get_by_role("link", name="Arrived live")).to_be_visible(timeout=10_000)
    assert page.evaluate("window.notReloaded") is True


def test_an_operator_creates_edits_and_moves_a_story_from_the_browser(
    page: Page, dashboard: Dashboard, seeded: Seeded
) -> None:
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/stories")
    page.get_by_role("link", name="New story").click()
    page.get_by_label("Description").fill("Typed before a mistake")
    expect_console_error(page, "status of 422")  # the refused form comes back as a 422
    page.get_by_role("button", name="Create story").click()
    expect(page.get_by_role("alert")).to_contain_text("A title must not be empty")
    expect(page.get_by_label("Description")).to_have_value("Typed before a mistake")
    assert_accessible(page)

    page.get_by_label("Title", exact=True).fill("Refund a payment")
    page.get_by_label("Acceptance criteria").fill("Money goes back\n[x] Refunds are listed")
    page.get_by_label("Epic").select_option(label="Checkout")
    page.get_by_label("Labels").fill("payments, support")
    page.get_by_role("button", name="Create story").click()
    expect(page.get_by_role("heading", name="Refund a payment", level=1)).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("Created story")
    criteria = page.get_by_role("region", name="Acceptance criteria")
    expect(criteria.get_by_role("listitem")).to_have_text(
        ["☐ Not met yet: Money goes back", "☑ Met: Refunds are listed"]
    )
    assert_accessible(page)

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title", exact=True).fill("Refund a card payment")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Refund a card payment", level=1)).to_be_visible()

    page.get_by_role("button", name="Move to ready").click()
    expect(page.locator(".flash")).to_contain_text("Moved the story to ready")
    facts = page.get_by_role("region", name="Facts")
    expect(facts.locator(".badge", has_text="ready")).to_be_visible()
    expect(page.get_by_role("button", name="Move to in progress")).to_be_visible()


def test_an_operator_pauses_resumes_and_stops_the_epic_run(
    page: Page, dashboard: Dashboard, seeded: Seeded
) -> None:
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/epics/{seeded.epic}")
    status = page.get_by_role("region", name="Autonomous run").locator("dd .badge").first

    page.get_by_role("button", name="Pause").click()
    expect(status).to_have_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(status).to_have_text("running")

    page.once("dialog", lambda dialog: dialog_accept(dialog))
    page.get_by_role("button", name="Stop").click()
    expect(status).to_have_text("stopped")
    expect(page.get_by_role("heading", name="Run it again")).to_be_visible()
    assert_accessible(page)


def dialog_accept(dialog: Dialog) -> None:
    assert "Stop the run" in dialog.message
    dialog.accept()
