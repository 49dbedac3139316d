"""The dashboard in a real browser: Playwright driving Debian's Chromium against a real
``orchestrate serve``.

Chromium runs headless as root here, so it starts with ``--no-sandbox`` and the flags that
keep it off the (closed) network, with a fresh profile per browser. Every page a test
opens is watched: a console error or an uncaught exception fails the test, and a
screenshot of the last state is saved under ``tests/e2e/screenshots/`` (git-ignored) so a
person can look at the pages. ``.ci/run`` installs the ``chromium`` package when missing;
without it these tests are skipped, saying so.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.processes import Server, clean_env, cli, create_token, free_port

CHROMIUM = Path("/usr/bin/chromium")
ROLES = ("admin", "operator", "viewer")
SCREENSHOTS = Path(__file__).parent.parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
        allow_module_level=True,
    )

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]  # noqa: E402
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright  # noqa: E402


@dataclass
class Dashboard:
    """A running serve with a token per role, and the environment its CLI uses."""

    server: Server
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def running_dashboard(env: dict[str, str], *, args: Sequence[str] = ()) -> Iterator[Dashboard]:
    """Migrate the database ``env`` points at, make a token per role (``e2e-<role>``) and
    run ``orchestrate serve`` (with ``args``) until the block ends."""
    assert cli(env, "db", "upgrade").returncode == 0
    tokens = {role: create_token(env, f"e2e-{role}", role) for role in ROLES}
    server = Server(env, free_port(), args=args)
    try:
        yield Dashboard(server, env, tokens)
    finally:
        server.stop()


def empty_repository(path: Path) -> Path:
    """A git work tree at ``path`` with one empty commit on ``main``."""
    path.mkdir(parents=True)
    author = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    for args in (
        ["init", "-q", "-b", "main"],
        [*author, "commit", "-q", "--allow-empty", "-m", "init"],
    ):
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``orchestrate serve`` on SQLite in a fresh home, for every test of one module."""
    home = tmp_path_factory.mktemp("dashboard") / "home"
    with running_dashboard(clean_env(home, LOG_LEVEL="warning")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module; Playwright gives it a fresh temporary profile.

    Not one per session: Playwright's sync API keeps an event loop running in this thread
    while it is started, and under xdist the same process goes on to other modules' tests,
    whose ``asyncio.run`` would then fail.
    """
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watched:
    """A page, and everything it complained about."""

    page: Page
    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(e in message.text for e in self.expected):
            self.errors.append(f"console: {message.text}")


_WATCHED: dict[int, Watched] = {}


def expect_console_error(page: Page, text: str) -> None:
    """The test provokes an error the browser logs (a refused sign-in's 401): allow it."""
    _WATCHED[id(page)].expected.append(text)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; fails the test on console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    watched.page.on("console", watched.on_console)
    watched.page.on("pageerror", lambda error: watched.errors.append(f"page error: {error}"))
    _WATCHED[id(watched.page)] = watched
    try:
        yield watched.page
    finally:
        del _WATCHED[id(watched.page)]
        SCREENSHOTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            watched.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        finally:
            context.close()
    assert not watched.errors, "\n".join(watched.errors)


def sign_in(page: Page, dashboard: Dashboard, role: str = "admin") -> None:
    """Through the sign-in form, as a person would."""
    page.goto(f"{dashboard.url}/")
    page.get_by_label("API token").fill(dashboard.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dashboard.url}/ui/")


_AXE = Axe()


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    results = _AXE.run(page)
    bad = [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in ("serious", "critical")
    ]
    assert not bad, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(node.get("target")) for node in v.get("nodes", [])[:5])
        for v in bad
    )
