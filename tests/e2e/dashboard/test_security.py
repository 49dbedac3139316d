"""The Security pages in Chromium, against a real ``orchestrate serve`` and its worker.

A scan is recorded the way a person records one (``orchestrate security scan``); an
operator queues a scan of a registered repository through the page's form; and a scan
the worker finishes appears on an open list without a reload.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.dashboard.conftest import (
    Dashboard,
    assert_accessible,
    empty_repository,
    running_dashboard,
    sign_in,
)
from tests.e2e.processes import clean_env, cli
from tests.integration.dashboard.test_security import made_up_github_token

pytestmark = pytest.mark.slow

REPO = "octo/shop"
TOKEN = made_up_github_token("Zr4mQ8wXk2Tn7VbP1cLs9HfYd3Gj5A")


def with_a_token(path: Path) -> Path:
    """A git work tree whose one committed file holds a (made-up) GitHub token."""
    tree = empty_repository(path)
    (tree / "deploy.py").write_text(f'GITHUB_TOKEN = "{TOKEN}"\n')
    author = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    for args in (["add", "deploy.py"], [*author, "commit", "-q", "-m", "deploy"]):
        subprocess.run(["git", "-C", str(tree), *args], check=True, capture_output=True)
    return tree


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``serve`` with a scan of a directory recorded by the CLI, and a registered
    repository holding a token for the form to scan."""
    root = tmp_path_factory.mktemp("security")
    env = clean_env(root / "home", LOG_LEVEL="warning")
    with running_dashboard(env) as running:
        scanned = cli(env, "security", "scan", str(with_a_token(root / "tree")), "--secrets")
        assert "Recorded as scan_" in scanned.stderr + scanned.stdout, scanned.stderr
        headers = {"Authorization": f"Bearer {running.tokens['admin']}"}
        with httpx.Client(base_url=running.url, headers=headers) as http:
            added = http.post(
                "/api/repositories",
                json={"source": str(with_a_token(root / "shop")), "name": REPO},
            )
            assert added.status_code == 201, added.text
        yield running


def test_a_viewer_reads_the_scans_a_scan_and_a_finding(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard, "viewer")

    page.get_by_role("link", name="Security", exact=True).click()
    expect(page.get_by_role("heading", name="Security", level=1)).to_be_visible()
    expect(page.locator("#security-scans")).to_contain_text("1 high")
    assert_accessible(page)

    page.locator("#scans-title ~ .table-wrap a.mono").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Security scan")
    expect(page.get_by_role("link", name="SARIF")).to_be_visible()
    assert_accessible(page)

    page.locator('a[href^="/ui/security/findings/"]').first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("deploy.py:1", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Propose a fix")).to_have_count(0)
    assert TOKEN[4:] not in page.content()
    assert_accessible(page)


def api(dashboard: Dashboard) -> httpx.Client:
    headers = {"Authorization": f"Bearer {dashboard.tokens['admin']}"}
    return httpx.Client(base_url=dashboard.url, headers=headers)


def wait_until_scanned(dashboard: Dashboard, scan_id: str) -> None:
    deadline = time.monotonic() + 30
    with api(dashboard) as http:
        while http.get(f"/api/security/scans/{scan_id}").json()["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"the worker did not run {scan_id}"
            time.sleep(0.2)


def test_an_operator_queues_a_scan_with_the_form(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard, "operator")
    page.goto(f"{dashboard.url}/ui/security")
    assert_accessible(page)

    page.get_by_label("Repository to scan").select_option(REPO)
    for scanner in ("Code (SAST)", "Vulnerable dependencies", "Licences"):
        page.get_by_label(scanner, exact=True).uncheck()
    page.get_by_label("Fail on").select_option("medium")
    page.get_by_role("button", name="Queue the scan").click()

    expect(page.get_by_role("status").filter(has_text="is queued")).to_be_visible()
    scan_id = page.url.rsplit("/", 1)[1]
    # The worker may finish before the page's stream connects: it starts where the log
    # stood when the page was read, so the finding appears without a reload either way.
    wait_until_scanned(dashboard, scan_id)
    scan = page.locator("#security-scan")
    expect(scan.get_by_text("deploy.py:1", exact=True)).to_be_visible(timeout=10_000)
    expect(scan).to_contain_text(REPO)
    expect(scan.get_by_role("link", name="SARIF")).to_be_visible()
    assert_accessible(page)

    scan.locator('a[href^="/ui/security/findings/"]').first.click()
    expect(page.get_by_role("button", name="Propose a fix")).to_be_visible()
    assert_accessible(page)


def test_a_scan_finishing_on_the_worker_appears_without_a_reload(
    page: Page, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard, "viewer")
    page.goto(f"{dashboard.url}/ui/security")
    expect(page.locator("#live-status")).to_have_text("Live")

    with api(dashboard) as http:
        queued = http.post(
            "/api/security/scans", json={"repository": REPO, "categories": ["secret"]}
        )
    assert queued.status_code == 202, queued.text

    # security.scan_completed, written by the worker, refreshes the list in place.
    scans = page.locator("#security-scans")
    expect(scans.get_by_role("link", name=queued.json()["id"]).first).to_be_visible(timeout=30_000)


def test_a_scan_finishing_while_the_page_loads_still_appears(
    page: Page, dashboard: Dashboard
) -> None:
    """The page is read, then the scan finishes, and only then does live.js start: the
    stream begins where the log stood when the page was read, so the page still learns
    of it (no reload)."""
    sign_in(page, dashboard, "viewer")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/ui/static/live*.js", hold)
    page.goto(f"{dashboard.url}/ui/security", wait_until="commit")
    expect(page.locator("#security-scans")).to_be_attached()

    with api(dashboard) as http:
        queued = http.post(
            "/api/security/scans", json={"repository": REPO, "categories": ["secret"]}
        )
    assert queued.status_code == 202, queued.text
    wait_until_scanned(dashboard, queued.json()["id"])
    page.wait_for_timeout(300)  # the page stays as it was read: live.js is held back
    scans = page.locator("#security-scans")
    assert queued.json()["id"] not in scans.inner_text()
    for route in held:
        route.continue_()
    page.unroute("**/ui/static/live*.js")

    expect(scans.get_by_role("link", name=queued.json()["id"]).first).to_be_visible(timeout=10_000)
