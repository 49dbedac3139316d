"""The dashboard's live stream: every event's id, type and subject, and no more, for as
long as the session lasts."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.events import record_event
from orchestrate.core.jobs.events import JobCancelled
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pages import live
from orchestrate.dashboard.pushed import PartRenderer, PushSchedule, WatchedPart
from orchestrate.dashboard.session import COOKIE, verified_session
from tests.conftest import app_on
from tests.integration.dashboard.conftest import SignIn

pytestmark = pytest.mark.asyncio


async def _commit_event(runtime: Runtime, subject: str) -> None:
    async with runtime.uow() as uow:
        record_event(uow, JobCancelled(subject=subject, kind="test.work"))
        await uow.commit()


async def test_frames_carry_the_type_and_subject_but_never_the_payload(runtime: Runtime) -> None:
    async def signed_in() -> bool:
        return True

    frames = live._frames(runtime, 0, signed_in, PushSchedule([]), None)
    assert await anext(frames) == "retry: 1000\n\n"
    await _commit_event(runtime, "job_1")

    frame = await anext(frames)
    await frames.aclose()

    lines = frame.strip().split("\n")
    assert lines[0].startswith("id: ")
    data = json.loads(lines[1].removeprefix("data: "))
    assert set(data) == {"id", "type", "subject"}
    assert data["subject"] == "job_1"
    assert data["type"].startswith("job.")


async def test_the_stream_ends_once_the_session_has_ended(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "SESSION_CHECK_SECONDS", 0.0)
    sessions = [True]

    async def signed_in() -> bool:
        return sessions[-1]

    frames = live._frames(runtime, 0, signed_in, PushSchedule([]), None)
    await anext(frames)
    await _commit_event(runtime, "job_1")
    assert "job_1" in await anext(frames)

    sessions.append(False)  # signed out, expired or revoked meanwhile
    await _commit_event(runtime, "job_2")
    with pytest.raises(StopAsyncIteration):
        await anext(frames)


async def _signed_in() -> bool:
    return True


def _stream_request(runtime: Runtime, cookie: str) -> Request:
    """The request of a browser's ``/ui/events`` stream, as the route gets it."""
    return Request(
        {
            "type": "http",
            "app": app_on(runtime),
            "method": "GET",
            "scheme": "http",
            "server": ("orchestrate.test", 80),
            "path": "/ui/events",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"orchestrate.test"), (b"cookie", f"{COOKIE}={cookie}".encode())],
        }
    )


AGENTS_TABLE = WatchedPart("4", "agents-table", "/ui/agents", ("job.",))
ADMIN = Actor(name="test:admin", role=Role.ADMIN, source="127.0.0.1")


async def _renderer(runtime: Runtime, cookie: str) -> PartRenderer:
    request = _stream_request(runtime, cookie)
    return PartRenderer(request, await verified_session(request, runtime))


async def test_a_watched_part_is_pushed_rendered_after_the_event_that_changed_it(
    runtime: Runtime, sign_in: SignIn
) -> None:
    browser = await sign_in(Role.VIEWER)
    renderer = await _renderer(runtime, browser.http.cookies[COOKIE])
    frames = live._frames(runtime, 0, _signed_in, PushSchedule([AGENTS_TABLE]), renderer)
    assert await anext(frames) == "retry: 1000\n\n"
    assert await anext(frames) == 'event: watching\ndata: ["4"]\n\n'

    await _commit_event(runtime, "job_1")
    assert "job_1" in await anext(frames)  # the event first, as ever
    pushed = await anext(frames)
    await frames.aclose()

    head, data = pushed.rstrip("\n").split("\n")
    assert head == "event: part"
    part = json.loads(data.removeprefix("data: "))
    assert (part["tab"], part["id"]) == ("4", "agents-table")
    assert part["html"].startswith('<section id="agents-table"')
    assert part["html"].endswith("</section>")
    assert "<h1>" not in part["html"]  # the part, not the page
    fetched = await browser.http.get(
        "/ui/agents",
        headers={"hx-request": "true", "hx-target": "agents-table", "x-orchestrate-seen": "1"},
    )
    assert part["html"] == fetched.text  # exactly what the page's own refresh gets


async def test_events_in_a_burst_make_one_push_now_and_one_after_the_interval(
    runtime: Runtime, sign_in: SignIn
) -> None:
    browser = await sign_in(Role.VIEWER)
    renderer = await _renderer(runtime, browser.http.cookies[COOKIE])
    frames = live._frames(runtime, 0, _signed_in, PushSchedule([AGENTS_TABLE]), renderer)
    await anext(frames)
    await anext(frames)
    await _commit_event(runtime, "job_1")
    assert "job_1" in await anext(frames)
    assert (await anext(frames)).startswith("event: part")

    for n in (2, 3, 4):  # within the interval: folded into one trailing push
        await _commit_event(runtime, f"job_{n}")
    seen: list[str] = []
    while not seen or not seen[-1].startswith("event: part"):
        seen.append(await asyncio.wait_for(anext(frames), 5))
    await frames.aclose()
    assert all("job_" in frame for frame in seen[:-1])
    assert sum(frame.startswith("event: part") for frame in seen) == 1


async def test_a_stream_ends_once_its_token_is_revoked(
    runtime: Runtime, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream asks the database again (not the session it began with), and its
    pushes stop with it."""
    monkeypatch.setattr(live, "SESSION_CHECK_SECONDS", 0.0)
    browser = await sign_in(Role.VIEWER)
    request = _stream_request(runtime, browser.http.cookies[COOKIE])
    session = await verified_session(request, runtime)
    watch = json.dumps([{"tab": "1", "id": "agents-table", "url": "/ui/agents", "live": "job."}])
    response = await live.events(request, runtime, session, None, 0, watch)
    assert isinstance(response, StreamingResponse)
    frames = aiter(response.body_iterator)
    assert await anext(frames) == "retry: 1000\n\n"
    assert await anext(frames) == 'event: watching\ndata: ["1"]\n\n'
    # Resumed after an event id: every part is pushed once, for what a stream before
    # this one may have owed it.
    assert str(await anext(frames)).startswith("event: part")
    await _commit_event(runtime, "job_1")
    assert "job_1" in await anext(frames)
    assert str(await anext(frames)).startswith("event: part")

    await auth.revoke_token(runtime.uow(), "test-viewer", ADMIN)
    await _commit_event(runtime, "job_2")
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(frames), 10)


async def test_a_list_that_is_not_one_is_refused_and_unpushable_tabs_are_not_watched(
    sign_in: SignIn,
) -> None:
    browser = await sign_in(Role.VIEWER)
    garbled = await browser.http.get("/ui/events", params={"watch": "[{"})
    assert garbled.status_code == 400
    assert "JSON list" in garbled.text
    not_objects = await browser.http.get("/ui/events", params={"watch": "[1]"})
    assert not_objects.status_code == 400
    assert "watch[0] must be an object" in not_objects.text


async def test_only_an_html_page_is_pushed(runtime: Runtime, sign_in: SignIn) -> None:
    """Whatever the list names, a file or a stream is cut off at its first bytes."""
    browser = await sign_in(Role.VIEWER)
    renderer = await _renderer(runtime, browser.http.cookies[COOKIE])
    static = WatchedPart("1", "x", "/ui/static/live.js", ("a.",))
    stream = WatchedPart("1", "x", "/ui/events?after=0", ("a.",))
    missing = WatchedPart("1", "x", "/ui/agents/agt_missing", ("a.",))
    started = asyncio.get_running_loop().time()
    assert await renderer.render(static, 0) is None
    assert await renderer.render(stream, 0) is None
    assert await renderer.render(missing, 0) is None  # a 404 page is not a part
    assert asyncio.get_running_loop().time() - started < 2  # none waited for a timeout
    assert await renderer.render(AGENTS_TABLE, 0) is not None
