"""Live refreshes of one page share a render begun after the event they saw was read,
each getting its own CSRF token; anything else renders on its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from orchestrate.auth.models import DashboardSession
from orchestrate.core.identity import Actor, Role
from orchestrate.dashboard import shared
from orchestrate.dashboard.shared import SEEN_HEADER, SharedRenders, is_live_refresh


def refresh(seen: int | None = 1, *, path: str = "/ui/agents", **extra: str) -> Request:
    headers = [(b"hx-request", b"true")]
    if seen is not None:
        headers.append((SEEN_HEADER.lower().encode(), str(seen).encode()))
    headers += [(name.encode(), value.encode()) for name, value in extra.items()]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": b"state=running",
            "headers": headers,
        }
    )


def person(csrf: str, name: str = "ops", role: Role = Role.OPERATOR) -> DashboardSession:
    return DashboardSession(
        id=f"s-{csrf}",
        actor=Actor(name=name, role=role, source="203.0.113.7"),
        csrf_token=csrf * 8,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


class Pages:
    """Renders of a page that wait until released, counting how many were made."""

    def __init__(self) -> None:
        self.made = 0
        self.release = asyncio.Event()

    def render(
        self, session: DashboardSession, *, fail: bool = False
    ) -> Callable[[], Awaitable[Response]]:
        async def page() -> Response:
            self.made += 1
            await self.release.wait()
            if fail:
                raise RuntimeError("the database went away")
            form = f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">'
            return HTMLResponse(f"<main>{self.made} agents {form}</main>")

        return page


def text(response: Response) -> str:
    return bytes(response.body).decode()


async def started() -> None:
    await asyncio.sleep(0.01)  # let the calls made so far reach their wait


async def side_by_side(
    renders: SharedRenders,
    pages: Pages,
    first: tuple[DashboardSession, int],
    second: tuple[DashboardSession, int],
    meanwhile: Callable[[], object] = lambda: None,
) -> tuple[Response, Response]:
    """Two refreshes, (person, event seen) each, the second asking while the first's
    render is under way (``meanwhile`` runs between them); then both renders finish."""
    one = asyncio.create_task(renders.answer(refresh(first[1]), first[0], pages.render(first[0])))
    await started()
    meanwhile()
    two = asyncio.create_task(
        renders.answer(refresh(second[1]), second[0], pages.render(second[0]))
    )
    await started()
    pages.release.set()
    return await one, await two


async def test_refreshes_that_saw_the_same_event_share_one_render() -> None:
    read = time.monotonic()
    renders, pages = SharedRenders(lambda _id: read), Pages()
    alice, bob = person("a"), person("b")
    mine, theirs = await side_by_side(renders, pages, (alice, 1), (bob, 1))
    assert pages.made == 1
    assert alice.csrf_token in text(mine)
    assert bob.csrf_token in text(theirs)
    assert alice.csrf_token not in text(theirs)
    assert theirs.headers["content-length"] == str(len(theirs.body))
    assert theirs.headers["content-type"].startswith("text/html")


async def test_a_refresh_for_an_event_read_after_the_render_began_renders_again() -> None:
    read_times: dict[int, float] = {1: time.monotonic()}
    renders, pages = SharedRenders(read_times.get), Pages()
    alice, bob = person("a"), person("b")

    def news() -> None:  # news the running render may not show
        read_times[2] = time.monotonic()

    await side_by_side(renders, pages, (alice, 1), (bob, 2), news)
    assert pages.made == 2


async def test_an_event_this_process_never_read_is_not_trusted() -> None:
    renders, pages = SharedRenders(lambda _id: None), Pages()
    await side_by_side(renders, pages, (person("a"), 1), (person("b"), 1))
    assert pages.made == 2


@pytest.mark.parametrize(
    "other",
    [person("b", name="someone else"), person("b", role=Role.VIEWER)],
    ids=["another name", "another role"],
)
async def test_people_who_see_the_page_differently_get_their_own_render(
    other: DashboardSession,
) -> None:
    read = time.monotonic()
    renders, pages = SharedRenders(lambda _id: read), Pages()
    await side_by_side(renders, pages, (person("a"), 1), (other, 1))
    assert pages.made == 2


async def test_a_failed_render_is_not_shared_each_request_renders_for_itself() -> None:
    read = time.monotonic()
    renders, pages = SharedRenders(lambda _id: read), Pages()
    alice, bob = person("a"), person("b")
    first = asyncio.create_task(renders.answer(refresh(), alice, pages.render(alice, fail=True)))
    await started()
    second = asyncio.create_task(renders.answer(refresh(), bob, pages.render(bob)))
    await started()
    pages.release.set()
    with pytest.raises(RuntimeError):
        await first
    assert bob.csrf_token in text(await second)
    assert pages.made == 2


async def test_a_response_that_sets_a_cookie_is_not_shared() -> None:
    read = time.monotonic()
    renders = SharedRenders(lambda _id: read)
    release, made = asyncio.Event(), []
    alice, bob = person("a"), person("b")

    async def with_cookie() -> Response:
        made.append(1)
        await release.wait()
        response = HTMLResponse("<main>page</main>")
        response.set_cookie("orchestrate_session", "alice's", httponly=True)
        return response

    first = asyncio.create_task(renders.answer(refresh(), alice, with_cookie))
    await started()
    second = asyncio.create_task(renders.answer(refresh(), bob, with_cookie))
    await started()
    release.set()
    await asyncio.gather(first, second)
    assert len(made) == 2


def test_only_live_refreshes_that_say_what_they_saw_may_share() -> None:
    assert is_live_refresh(refresh(12))
    assert not is_live_refresh(refresh(None))
    assert not is_live_refresh(refresh(None, **{SEEN_HEADER: "12; drop"}))
    assert not is_live_refresh(refresh(12, cookie="orchestrate_flash=Saved"))
    plain = Request({"type": "http", "method": "GET", "path": "/ui/agents", "headers": []})
    assert not is_live_refresh(plain)
    posted = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/ui/agents",
            "headers": [(b"hx-request", b"true"), (b"x-orchestrate-seen", b"3")],
        }
    )
    assert not is_live_refresh(posted)


async def test_a_page_rendered_since_the_event_was_read_answers_later_refreshes() -> None:
    read_times: dict[int, float] = {1: time.monotonic()}
    renders, pages = SharedRenders(read_times.get), Pages()
    pages.release.set()
    alice, bob = person("a"), person("b")
    await renders.answer(refresh(1), alice, pages.render(alice))

    later = await renders.answer(refresh(1), bob, pages.render(bob))
    assert pages.made == 1
    assert bob.csrf_token in text(later)

    read_times[2] = time.monotonic()  # news after that render began: render again
    await renders.answer(refresh(2), bob, pages.render(bob))
    assert pages.made == 2


async def test_a_kept_page_answers_only_for_a_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    read = time.monotonic()
    renders, pages = SharedRenders(lambda _id: read), Pages()
    pages.release.set()
    alice = person("a")
    await renders.answer(refresh(), alice, pages.render(alice))
    monkeypatch.setattr(shared, "KEPT_SECONDS", 0.0)
    await renders.answer(refresh(), alice, pages.render(alice))
    assert pages.made == 2
