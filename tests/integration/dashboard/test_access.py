"""Signing in and out of the dashboard, its cookie, CSRF and what a viewer may do."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.clock import FrozenClock
from orchestrate.core.runtime import Runtime
from tests.conftest import app_on
from tests.integration.dashboard.conftest import SignIn

pytestmark = pytest.mark.asyncio


async def test_the_root_leads_an_unknown_browser_to_the_sign_in_form(
    api: httpx.AsyncClient,
) -> None:
    root = await api.get("/")
    assert root.status_code == 307
    assert root.headers["location"] == "/ui/"

    home = await api.get("/ui/")
    assert home.status_code == 303
    assert home.headers["location"] == "/ui/login?next=%2Fui%2F"

    form = await api.get("/ui/login")
    assert form.status_code == 200
    assert 'name="token"' in form.text
    assert "default-src 'self'" in form.headers["content-security-policy"]


async def test_signing_in_sets_a_session_cookie_no_script_can_read(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    signed = await api.post("/ui/login", data={"token": tokens[Role.VIEWER], "next": "/ui/agents"})

    assert signed.status_code == 303
    assert signed.headers["location"] == "/ui/agents"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith("orchestrate_session=orc_")
    assert tokens[Role.VIEWER] not in cookie  # the token never reaches the browser's storage
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=43200" in cookie  # expires with the session (12 h by default)
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure

    page = await api.get("/ui/agents")
    assert page.status_code == 200
    assert "token:test-viewer" in page.text


async def test_the_cookie_is_secure_when_the_dashboard_is_served_over_https(
    runtime: Runtime, tokens: dict[Role, str]
) -> None:
    transport = httpx.ASGITransport(app=app_on(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://orchestrate.test") as web:
        signed = await web.post(
            "/ui/login",
            data={"token": tokens[Role.VIEWER]},
            headers={"origin": "https://orchestrate.test"},
        )
    assert signed.status_code == 303
    assert "Secure" in signed.headers["set-cookie"]


async def test_a_wrong_token_is_refused_with_the_form_again(api: httpx.AsyncClient) -> None:
    refused = await api.post("/ui/login", data={"token": "orc_not-a-token"})

    assert refused.status_code == 401
    assert "not valid" in refused.text
    assert "set-cookie" not in refused.headers


async def test_sign_in_never_redirects_off_the_dashboard(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    for target in ("https://evil.example/", "//evil.example/ui/", "/api/tokens", "/ui\\..\\x"):
        signed = await api.post("/ui/login", data={"token": tokens[Role.VIEWER], "next": target})
        assert signed.headers["location"] == "/ui/", target


async def test_a_sign_in_posted_from_another_site_is_refused(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    refused = await api.post(
        "/ui/login",
        data={"token": tokens[Role.ADMIN]},
        headers={"origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers


async def test_signing_out_ends_the_session_even_for_a_kept_cookie(sign_in: SignIn) -> None:
    browser = await sign_in(Role.OPERATOR)
    cookie = browser.http.cookies["orchestrate_session"]

    out = await browser.post("/ui/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/ui/login"

    browser.http.cookies.set("orchestrate_session", cookie)  # a copy kept by someone else
    again = await browser.get("/ui/agents")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/ui/login")


async def test_signing_out_needs_the_csrf_token(sign_in: SignIn) -> None:
    browser = await sign_in(Role.OPERATOR)

    forged = await browser.http.post("/ui/logout", data={})
    assert forged.status_code == 403
    assert "security token" in forged.text

    wrong = await browser.http.post("/ui/logout", data={"csrf_token": "0" * 64})
    assert wrong.status_code == 403

    assert (await browser.get("/ui/")).status_code == 200  # still signed in


async def test_revoking_the_token_ends_its_sessions(
    sign_in: SignIn, runtime: Runtime, admin: Actor
) -> None:
    browser = await sign_in(Role.VIEWER)
    assert (await browser.get("/ui/")).status_code == 200

    await auth.revoke_token(runtime.uow(), "test-viewer", admin)

    ended = await browser.get("/ui/")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/ui/login")


async def test_a_session_slides_while_used_and_expires_when_left(
    sign_in: SignIn, runtime: Runtime
) -> None:
    browser = await sign_in(Role.VIEWER)
    clock = FrozenClock(runtime.clock.now())
    runtime.clock = clock

    clock.advance(timedelta(hours=11))
    assert (await browser.get("/ui/")).status_code == 200  # used within 12 h: extended
    clock.advance(timedelta(hours=11))
    assert (await browser.get("/ui/")).status_code == 200

    clock.advance(timedelta(hours=12, seconds=1))
    ended = await browser.get("/ui/")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/ui/login")


async def test_signing_in_and_out_is_audited(sign_in: SignIn, runtime: Runtime) -> None:
    browser = await sign_in(Role.OPERATOR)
    await browser.post("/ui/logout")

    page = await auth.list_audit(runtime.uow(), actor="token:test-operator")
    assert [record.action for record in page.items] == ["dashboard.logout", "dashboard.login"]


async def test_a_page_error_is_a_page_not_a_problem_document(sign_in: SignIn) -> None:
    browser = await sign_in(Role.VIEWER)

    bad = await browser.get("/ui/agents?state=sleeping")

    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("text/html")
    assert "Unknown agent state" in bad.text
