"""Live refreshes through the real app: each person signs in on its own and gets the page
with its own CSRF token, whether or not the render was shared."""

from __future__ import annotations

import asyncio

import httpx

from orchestrate.auth.models import Role
from orchestrate.core.events import record_event
from orchestrate.core.jobs.events import JobCancelled
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.shared import SEEN_HEADER
from tests.conftest import app_on
from tests.integration.dashboard.conftest import csrf_token_in


async def _news(runtime: Runtime) -> int:
    """Commit an event and let this process's feed read it, as the live stream would."""
    async with runtime.uow() as uow:
        record_event(uow, JobCancelled(subject="job_1", kind="test.work"))
        await uow.commit()
    async for batch in runtime.events.follow(0):
        if batch:
            return batch[-1].id
    raise AssertionError("the feed ended")


async def _signed_in(app: object, token: str) -> tuple[httpx.AsyncClient, str]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=transport, base_url="http://orchestrate.test")
    assert (await http.post("/ui/login", data={"token": token})).status_code == 303
    return http, csrf_token_in((await http.get("/ui/")).text)


async def test_people_refreshing_at_once_each_get_their_own_csrf_token(
    runtime: Runtime, tokens: dict[Role, str]
) -> None:
    app = app_on(runtime)  # one app, as one serve process
    people = [await _signed_in(app, tokens[Role.OPERATOR]) for _ in range(4)]
    people.append(await _signed_in(app, tokens[Role.VIEWER]))
    seen = await _news(runtime)
    headers = {"HX-Request": "true", SEEN_HEADER: str(seen)}
    try:
        pages = await asyncio.gather(
            *(http.get("/ui/agents", headers=headers) for http, _ in people * 3)
        )
        for (_, csrf), page in zip(people * 3, pages, strict=True):
            assert page.status_code == 200
            assert csrf_token_in(page.text) == csrf
            assert int(page.headers["content-length"]) == len(page.content)
        for index, page in enumerate(pages):  # each sees the page as their own role
            role = "viewer" if index % len(people) == 4 else "operator"
            assert f'class="badge">{role}</span>' in page.text
    finally:
        for http, _ in people:
            await http.aclose()


async def test_a_live_refresh_after_signing_out_is_sent_to_sign_in(
    runtime: Runtime, tokens: dict[Role, str]
) -> None:
    app = app_on(runtime)
    (alice, _), (bob, bob_csrf) = [await _signed_in(app, tokens[Role.OPERATOR]) for _ in range(2)]
    seen = await _news(runtime)
    headers = {"HX-Request": "true", SEEN_HEADER: str(seen)}
    try:
        assert (await bob.post("/ui/logout", data={"csrf_token": bob_csrf})).status_code == 303
        pages = await asyncio.gather(
            alice.get("/ui/agents", headers=headers), bob.get("/ui/agents", headers=headers)
        )
        assert pages[0].status_code == 200
        assert pages[1].status_code == 204
        assert pages[1].headers["HX-Redirect"] == "/ui/login"
        assert "agents-table" not in pages[1].text
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_a_live_refresh_gets_only_the_part_it_swaps(
    runtime: Runtime, tokens: dict[Role, str]
) -> None:
    app = app_on(runtime)
    http, _ = await _signed_in(app, tokens[Role.VIEWER])
    seen = await _news(runtime)
    try:
        live = {"HX-Request": "true", SEEN_HEADER: str(seen), "HX-Target": "agents-table"}
        part = await http.get("/ui/agents", headers=live)
        assert part.status_code == 200
        assert part.text.startswith('<section id="agents-table"')
        assert part.text.endswith("</section>")
        assert "site-nav" not in part.text  # not the page around it
        whole = await http.get("/ui/agents")  # a page loaded normally is whole
        assert whole.text.startswith("<!doctype html>")
        assert part.text in whole.text
        unknown = await http.get("/ui/agents", headers={**live, "HX-Target": "no-such-part"})
        assert unknown.text.startswith("<!doctype html>")
    finally:
        await http.aclose()
