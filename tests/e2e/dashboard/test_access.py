"""Signing in, the pages everyone sees first, and what a viewer cannot do, in Chromium."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.dashboard.conftest import (
    Dashboard,
    assert_accessible,
    expect_console_error,
    sign_in,
)

pytestmark = pytest.mark.slow


def test_a_person_signs_in_with_a_token_and_out_again(page: Page, dashboard: Dashboard) -> None:
    page.goto(f"{dashboard.url}/")
    expect(page).to_have_url(f"{dashboard.url}/ui/login?next=%2Fui%2F")
    assert_accessible(page)

    expect_console_error(page, "status of 401")
    page.get_by_label("API token").fill("orc_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    sign_in(page, dashboard, "operator")
    expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()
    expect(page.get_by_text("token:e2e-operator")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Live")
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{dashboard.url}/ui/login")
    page.goto(f"{dashboard.url}/ui/agents")
    expect(page).to_have_url(f"{dashboard.url}/ui/login?next=%2Fui%2Fagents")


def test_every_listed_page_renders_for_a_viewer_and_passes_axe(
    page: Page, dashboard: Dashboard
) -> None:
    sign_in(page, dashboard, "viewer")
    links = page.locator("nav.site-nav a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/ui/agents" in targets
    for target in targets:
        page.goto(f"{dashboard.url}{target}")
        expect(page.locator("main h1")).to_be_visible()
        assert_accessible(page)
        # A viewer gets no control that would change anything: the only form that posts
        # is signing out.
        posting = page.locator("form[method=post]")
        assert posting.count() == 1, target
        assert posting.first.get_attribute("action") == "/ui/logout"


def test_a_forged_form_post_is_refused_without_the_csrf_token(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.url) as web:
        signed = web.post("/ui/login", data={"token": dashboard.tokens["operator"]})
        assert signed.status_code == 303
        forged = web.post("/ui/logout", data={})
        assert forged.status_code == 403
        assert web.get("/ui/").status_code == 200
