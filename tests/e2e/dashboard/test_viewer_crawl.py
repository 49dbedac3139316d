"""A viewer walks the whole dashboard, following its links: every page renders, logs no
console error, passes axe, and offers no control that would change anything.

The pages are found by following links from the home page, so a page added later is
walked too; a pattern of address (``/ui/runs/{id}``) is visited at most twice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

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

PIPELINE = """
name: release
description: Build, wait for a person, ship.
inputs:
  version:
    type: string
    required: true
steps:
  - id: build
    run: echo building ${{ inputs.version }}
  - id: approve
    needs: build
    approval:
      approvers: [e2e-operator]
  - id: ship
    needs: approve
    run: echo shipping
"""
NOT_PAGES = ("/ui/logout", "/ui/events", "/ui/static/", "/ui/vendor/")
NOT_PAGES_PATTERN = re.compile(r"/logs?(\?|$)|/payload\.json$|/log\?|/report\?")
MAX_PAGES = 45
PER_PATTERN = 2


def _ok(env: dict[str, str], *args: str) -> str:
    done = cli(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A serve without its worker (nothing moves under the walk) on data of every kind."""
    root = tmp_path_factory.mktemp("crawl")
    env = clean_env(root / "home", LOG_LEVEL="warning")
    env["OPENAI_API_KEY"] = "never-used-no-worker-runs-agents-here"
    with running_dashboard(env, args=["--no-worker"]) as running:
        _seed(env, root)
        yield running


def _seed(env: dict[str, str], root: Path) -> None:
    """A waiting pipeline run, an epic with a story, an agent on it, a schedule, a
    security scan that found a (made-up) token."""
    repo = empty_repository(root / "project")
    (root / "scanned").mkdir()
    (root / "scanned" / "deploy.py").write_text(f'TOKEN = "{made_up_github_token()}"\n')
    scanned = cli(env, "security", "scan", str(root / "scanned"), "--secrets")
    assert scanned.returncode == 1, scanned.stderr  # the gate fails on the token
    (root / "release.yml").write_text(PIPELINE)
    _ok(env, "pipeline", "create", str(root / "release.yml"))
    _ok(env, "pipeline", "trigger", "release", "--input", "version=1.2.0")
    epic = _ok(env, "epic", "create", "--title", "Checkout")
    story = _ok(
        env,
        "story",
        "create",
        "--title",
        "Pay by card",
        "--epic",
        epic,
        "--criterion",
        "A card payment succeeds",
    )
    _ok(
        env,
        "agent",
        "start",
        "story-developer",
        "--task",
        "Build card payments",
        "--story",
        story,
        "--repo",
        str(repo),
        "--provider",
        "openai",
        "--model",
        "m",
    )
    _ok(
        env,
        "schedule",
        "create",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--pipeline",
        "release",
        "--input",
        "version=nightly",
    )


def _pattern(path: str) -> str:
    """The address with its ids (anything with a digit) replaced: one shape per page."""
    parts = [("{id}" if re.search(r"\d", part) else part) for part in path.split("/")]
    return "/".join(parts)


def _links(page: Page, origin: str) -> list[str]:
    # getAttribute, not .href: an SVG link's href is an object, not a string.
    hrefs = page.eval_on_selector_all(
        "a[href]", "links => links.map(a => new URL(a.getAttribute('href'), location.href).href)"
    )
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or not parts.path.startswith("/ui/"):
            continue
        if parts.path.startswith(NOT_PAGES) or NOT_PAGES_PATTERN.search(href):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def test_a_viewer_walks_every_page_and_can_change_nothing(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard, "viewer")
    queue, seen, per_pattern = ["/ui/"], set(), Counter[str]()
    visited: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        target = queue.pop(0)
        shape = _pattern(target.split("?")[0])
        if target in seen or per_pattern[shape] >= PER_PATTERN:
            continue
        seen.add(target)
        per_pattern[shape] += 1
        response = page.goto(f"{dashboard.url}{target}")
        assert response is not None
        assert response.status == 200, (target, response.status)
        visited.append(target)
        assert page.locator("main h1").count() == 1, target
        assert_accessible(page)
        posting = page.locator("form[method=post]")
        actions = [posting.nth(i).get_attribute("action") for i in range(posting.count())]
        assert actions == ["/ui/logout"], (target, actions)
        queue.extend(_links(page, dashboard.url))

    shapes = {_pattern(path.split("?")[0]) for path in visited}
    for expected in (
        "/ui/agents/{id}",
        "/ui/runs/{id}",
        "/ui/pipelines/release",
        "/ui/stories/{id}",
        "/ui/epics/{id}",
        "/ui/schedules/{id}",
        "/ui/security/scans/{id}",
        "/ui/security/findings/{id}",
    ):
        assert expected in shapes, (expected, sorted(shapes))
