"""Live refreshes of many open pages share one render.

When an event lands, every open page showing it asks for its part at the same moment:
fifty dashboards open on ``/ui/agents`` made fifty identical renders per change, and the
last of them waited for the forty-nine before it (``bench/dashboard.py --live``). A
live refresh says which event it saw (``X-Orchestrate-Seen``, sent by ``live.js``); a
render of the same page, for a person with the same name and role, that began after this
process had read that event from the log answers it too — still in progress, or made in
the last few seconds: its transaction began after the event's had committed, so it shows
at least what the refresh was asked for (and the page asks again for any later news).

Only the page is shared. Each request still signs in on its own (``PageRoute`` checks
the session first), the CSRF token in the page is swapped for the asker's own, and no
cookie of another request is passed on. A render that fails is not shared: each waiting
request then renders for itself.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from orchestrate.auth.service import DashboardSession
from orchestrate.core.identity import Role
from orchestrate.dashboard.parts import with_body
from orchestrate.dashboard.render import FLASH_COOKIE

SEEN_HEADER = "X-Orchestrate-Seen"
"""The id of the last event the page got; sent with its live refreshes."""

KEPT_SECONDS = 5.0
"""How long a page may answer refreshes after its render began (they come within ~1 s)."""
PAGES_KEPT = 64
"""Pages kept at most (the newest of each view; a page is some tens of KB)."""

ReadAt = Callable[[int], float | None]
"""When this process first read an event (``EventFeed.read_at``), or None."""

_Key = tuple[str, str, str, Role]


@dataclass(frozen=True)
class _Page:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    csrf_token: str


@dataclass(frozen=True)
class _Flight:
    began: float
    page: asyncio.Future[_Page | None]


class SharedRenders:
    """The renders of live refreshes in progress in this process, by page and viewer."""

    def __init__(self, read_at: ReadAt) -> None:
        self._read_at = read_at
        self._flights: dict[_Key, _Flight] = {}
        self._made: OrderedDict[_Key, tuple[float, _Page]] = OrderedDict()

    async def answer(
        self,
        request: Request,
        session: DashboardSession,
        render: Callable[[], Awaitable[Response]],
    ) -> Response:
        """``render()``'s page for this request, or a page rendered for the same view
        since the event this refresh saw was read (see the module's docstring)."""
        key = _key(request, session)
        seen = _seen(request)
        read = self._read_at(seen) if seen is not None else None
        if read is not None:
            flight = self._flights.get(key)
            if flight is not None and flight.began > read:
                page = await asyncio.shield(flight.page)
                if page is not None:
                    return _for(page, session)
            made = self._made.get(key)
            if made is not None and made[0] > read and time.monotonic() - made[0] < KEPT_SECONDS:
                return _for(made[1], session)
        return await self._render(key, session, render)

    async def _render(
        self, key: _Key, session: DashboardSession, render: Callable[[], Awaitable[Response]]
    ) -> Response:
        flight = _Flight(time.monotonic(), asyncio.get_running_loop().create_future())
        self._flights[key] = flight
        page: _Page | None = None
        try:
            response = await render()
            page = _shareable(response, session)
            return response
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.page.set_result(page)
            if page is not None:
                self._keep(key, flight.began, page)

    def _keep(self, key: _Key, began: float, page: _Page) -> None:
        """Keep the newest page of each view a while, for refreshes still to come."""
        kept = self._made.get(key)
        if kept is None or kept[0] < began:
            self._made[key] = (began, page)
            self._made.move_to_end(key)
        while len(self._made) > PAGES_KEPT:
            self._made.popitem(last=False)


def shared_renders(request: Request) -> SharedRenders:
    """The app's shared renders, made on first use for the runtime it serves (again if
    the app is pointed at another runtime, as tests do)."""
    state = request.app.state
    runtime = state.runtime
    made: tuple[object, SharedRenders] | None = getattr(state, "shared_renders", None)
    if made is None or made[0] is not runtime:
        made = state.shared_renders = (runtime, SharedRenders(runtime.events.read_at))
    return made[1]


def is_live_refresh(request: Request) -> bool:
    """A GET by htmx for a live part that says which event it saw, with no one-shot
    message (a flash belongs to one person's page only)."""
    return (
        request.method == "GET"
        and request.headers.get("hx-request") == "true"
        and _seen(request) is not None
        and not request.cookies.get(FLASH_COOKIE)
    )


def _seen(request: Request) -> int | None:
    value = request.headers.get(SEEN_HEADER, "")
    return int(value) if value.isdigit() and len(value) < 20 else None


def _key(request: Request, session: DashboardSession) -> _Key:
    return (request.url.path, request.url.query, session.actor.name, session.actor.role)


def _shareable(response: Response, session: DashboardSession) -> _Page | None:
    """The response as a page others may get, or None (an error, a redirect, a stream,
    a cookie being set: those are this request's own)."""
    if response.status_code != 200 or not hasattr(response, "body") or not session.csrf_token:
        return None
    if any(name == b"set-cookie" for name, _ in response.raw_headers):
        return None
    return _Page(
        response.status_code, list(response.raw_headers), bytes(response.body), session.csrf_token
    )


def _for(page: _Page, session: DashboardSession) -> Response:
    """The shared page as ``session``'s own: its CSRF token in the forms."""
    body = page.body.replace(page.csrf_token.encode(), session.csrf_token.encode())
    return with_body(page.status_code, page.headers, body)
