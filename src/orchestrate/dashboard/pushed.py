"""Live parts pushed in the stream: an open page gets its changed parts rendered, not
fetched.

A page that refreshed a part by fetching it cost the browser a request per part per
change, and with fifty pages open on two cores that request, not the server, was most of
the delay (``bench/dashboard.py --live``: p95 3.2 s fetched, 0.65 s swapped in place).
So the stream can carry the parts themselves. ``/ui/events?watch=…`` names the parts
the browser's open tabs show — for each a tab number, the part's id, the page it is cut
from and its ``data-live`` tokens — and when an event matches a part the stream renders
it and sends it as an ``event: part`` frame for ``live.js`` to swap in. The stream
first says which tabs it pushes for (``event: watching``): a tab not in that list
fetches its own parts.

The part is rendered by asking this app for it, as the page's own refresh would: a
``GET`` of the page as the stream's session (nothing else of the browser's) with the
headers of a live refresh, so role, CSRF token, shared renders (``shared.py``) and
cutting out the part (``parts.py``) are exactly those of a fetch.
A part is pushed at most once per ``PUSH_INTERVAL_SECONDS``; events that match it
meanwhile are folded into one push at the end of the interval.

Nothing here is trusted from the browser beyond the choice of its own pages: the page
must be a dashboard page (``/ui/…``, not the stream itself), is read with the stream's
own session, and the list is bounded. A page whose render fails, or is no longer signed
in, pushes nothing; the page still gets the events, and a tab the stream does not push
for (a stream without ``watch``, a tab opened since) fetches its parts itself.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Scope

from orchestrate.auth.service import DashboardSession
from orchestrate.core.events import Event
from orchestrate.dashboard.parts import PART_ID, live_part
from orchestrate.dashboard.session import COOKIE
from orchestrate.dashboard.shared import SEEN_HEADER

log = structlog.get_logger(__name__)

PUSH_INTERVAL_SECONDS = 0.25
"""A part is pushed at most this often; events in between make one trailing push."""
MAX_WATCHED = 32
"""Parts one stream pushes at most (a tab shows a handful; a browser has some tabs)."""
MAX_PAGES = 12
"""Distinct pages one stream renders parts of at most: each costs a render per push,
made for a connection that sends nothing more, so the list is kept to what open tabs
need."""
MAX_ENTRIES = 256
"""Entries a ``watch`` list may hold at all; a longer one is refused, not read."""
MAX_TOKENS = 512
"""Tokens one part may have (an epic's page names each of its stories)."""
MAX_URL = 2000
RENDER_TIMEOUT_SECONDS = 5.0
"""A part's render that takes longer is not pushed (nor waited for)."""
MAX_PART_BYTES = 4 * 1024 * 1024
"""A response larger than this is not a part; it is not pushed."""

_TAB = re.compile(r"[0-9]{1,9}")
_TOKEN = re.compile(r"\S{1,200}")
_PAGE = re.compile(r"/ui/[A-Za-z0-9_./%~:@!$&'()*+,;=?-]*")
_NOT_PAGES = ("/ui/static/", "/ui/vendor/")


class WatchError(ValueError):
    """The ``watch`` parameter of a stream is not a list of parts at all."""


@dataclass(frozen=True)
class WatchedPart:
    """One part of one open tab: where it comes from and which events change it."""

    tab: str
    part_id: str
    url: str
    tokens: tuple[str, ...]

    def matches(self, event: Event) -> bool:
        """The rule of ``live.js``: a token is a type prefix or the event's subject."""
        return any(token == event.subject or event.type.startswith(token) for token in self.tokens)


def parse_watch(raw: str) -> list[WatchedPart]:
    """The parts of ``raw`` (a JSON list of ``{tab, id, url, live}``) this stream pushes.

    ``WatchError`` when ``raw`` is not such a list at all. A tab with any part the stream
    cannot push (not a dashboard page, an odd id or token), or beyond the caps (parts,
    pages), is left out whole: the stream's ``watching`` frame does not name it, so it
    fetches its own parts, and no part of it goes stale waiting for a push.
    """
    try:
        items = json.loads(raw)
    except ValueError:
        raise WatchError("watch must be a JSON list of parts") from None
    if not isinstance(items, list) or len(items) > MAX_ENTRIES:
        raise WatchError(f"watch must be a JSON list of at most {MAX_ENTRIES} parts")
    by_tab: dict[str, list[WatchedPart | None]] = {}
    for at, item in enumerate(items):
        if not isinstance(item, dict):
            raise WatchError(f"watch[{at}] must be an object with tab, id, url and live")
        tab = item.get("tab")
        if not isinstance(tab, str) or not _TAB.fullmatch(tab):
            raise WatchError(f"watch[{at}].tab must be a number of up to 9 digits, as a string")
        by_tab.setdefault(tab, []).append(_part(tab, item))
    parts: list[WatchedPart] = []
    pages: set[str] = set()
    for tab_parts in by_tab.values():
        if None in tab_parts:
            continue
        whole = [part for part in tab_parts if part is not None]
        more_pages = pages | {part.url for part in whole}
        if len(parts) + len(whole) > MAX_WATCHED or len(more_pages) > MAX_PAGES:
            continue
        parts += whole
        pages = more_pages
    return parts


def _part(tab: str, item: dict[str, object]) -> WatchedPart | None:
    """The part ``item`` names, or None when the stream cannot push it."""
    part_id, url, live = (item.get(key) for key in ("id", "url", "live"))
    if not isinstance(part_id, str) or not PART_ID.fullmatch(part_id):
        return None
    if not isinstance(url, str) or len(url) > MAX_URL or not _is_page(url):
        return None
    tokens = live.split() if isinstance(live, str) else None
    if not tokens or len(tokens) > MAX_TOKENS or not all(_TOKEN.fullmatch(t) for t in tokens):
        return None
    return WatchedPart(tab, part_id, url, tuple(tokens))


def _is_page(url: str) -> bool:
    """A dashboard page other than the stream, its path plain (no ``..``, ``//`` or
    escapes that could make it another path once decoded)."""
    path = url.partition("?")[0]
    return (
        _PAGE.fullmatch(url) is not None
        and not any(bad in path for bad in ("..", "//", "%"))
        and not path.startswith(_NOT_PAGES)
        and path.rstrip("/") != "/ui/events"
    )


class PushSchedule:
    """Which watched parts are due a push, at most one per part per interval."""

    def __init__(self, parts: Iterable[WatchedPart]) -> None:
        self._parts = list(parts)
        self._last: dict[WatchedPart, float] = {}
        self._pending: set[WatchedPart] = set()

    def __bool__(self) -> bool:
        return bool(self._parts)

    def mark_all(self) -> None:
        """Every part is due: a stream resumed where another ended, whose pushes still
        owed died with it."""
        self._pending.update(self._parts)

    def tabs(self) -> list[str]:
        """The tabs pushed for, in the order they were named."""
        return list(dict.fromkeys(part.tab for part in self._parts))

    def note(self, batch: Iterable[Event]) -> None:
        """Mark the parts an event of ``batch`` changes."""
        for event in batch:
            for part in self._parts:
                if part not in self._pending and part.matches(event):
                    self._pending.add(part)

    def due(self, now: float) -> list[WatchedPart]:
        """The pending parts whose interval has passed; they count as pushed at ``now``."""
        ready = [
            part
            for part in self._pending
            if now - self._last.get(part, -PUSH_INTERVAL_SECONDS) >= PUSH_INTERVAL_SECONDS
        ]
        for part in ready:
            self._pending.discard(part)
            self._last[part] = now
        return ready

    def wait(self, now: float) -> float | None:
        """Seconds until the next pending part is due; None when nothing is pending."""
        if not self._pending:
            return None
        soonest = min(
            self._last.get(part, now - PUSH_INTERVAL_SECONDS) + PUSH_INTERVAL_SECONDS
            for part in self._pending
        )
        return max(0.0, soonest - now)


class PartRenderer:
    """Renders watched parts by asking the app for them as the stream's session.

    The request goes straight to the app (ASGI, no socket) with the session the stream
    last verified in its state, as a page request holds it once signed in: the stream
    checks its session again every few seconds and ends when it is gone, so its parts are
    not each looked up again. The session cookie is passed too, and nothing else of the
    browser's. Only an HTML answer is a part: anything else (a file, a stream, a page
    too large or too slow) is cut off and not pushed.
    """

    def __init__(self, request: Request, session: DashboardSession) -> None:
        self.session = session
        self._app: ASGIApp = request.app
        outer = request.scope
        self._scope_base: dict[str, object] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": outer.get("scheme", "http"),
            "server": outer.get("server"),
            "client": outer.get("client"),
            "root_path": outer.get("root_path", ""),
        }
        self._headers = [
            (b"host", request.headers.get("host", "").encode("latin-1")),
            (b"cookie", f"{COOKIE}={request.cookies.get(COOKIE, '')}".encode("latin-1")),
            (b"hx-request", b"true"),
        ]

    async def render(self, part: WatchedPart, seen: int) -> str | None:
        """The part as the page renders it now, or None (signed out, gone, failed, not
        a page)."""
        path, _, query = part.url.partition("?")
        scope: Scope = {
            **self._scope_base,
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [
                *self._headers,
                (b"hx-target", part.part_id.encode()),
                (SEEN_HEADER.lower().encode(), str(seen).encode()),
            ],
            "state": {"dashboard_session": self.session, "actor": self.session.actor},
        }
        answer = _Answer()
        try:
            await asyncio.wait_for(
                self._app(scope, answer.receive, answer.send), RENDER_TIMEOUT_SECONDS
            )
        except (_NotAPart, TimeoutError):
            return None
        except Exception:  # not pushed; the page's refresh would have failed alike
            log.exception("dashboard.part_push_failed", url=part.url, part=part.part_id)
            return None
        if answer.status != 200:
            return None
        html = live_part(bytes(answer.body), part.part_id)
        return html.decode() if html is not None else None

    async def frames(self, parts: list[WatchedPart], seen: int) -> str:
        """The ``part`` frames of ``parts`` rendered now (those that rendered)."""
        rendered = await asyncio.gather(*(self.render(part, seen) for part in parts))
        return "".join(
            part_frame(part, html) for part, html in zip(parts, rendered, strict=True) if html
        )


class _NotAPart(BaseException):
    """The answer is not an HTML page of a bounded size; stop reading it.

    A ``BaseException``, as cancellation is: it must unwind the app's call from our
    ``send`` without any of the app's error handlers taking it for the page's own
    failure (they handle ``Exception``, and would log it or try to answer again).
    """


class _Answer:
    """The client side of one in-process request: an empty body, then (only once the
    answer is complete or abandoned) a disconnect; what the app sends back."""

    def __init__(self) -> None:
        self.status = 0
        self.body = bytearray()
        self._body_sent = False
        self._done = asyncio.Event()

    async def receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._done.wait()  # a streaming answer waits here; the timeout ends it
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = dict(message.get("headers", []))
            if self.status == 200 and not headers.get(b"content-type", b"").startswith(
                b"text/html"
            ):
                raise _NotAPart
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            if len(self.body) > MAX_PART_BYTES:
                raise _NotAPart
            if not message.get("more_body", False):
                self._done.set()


def watching_frame(schedule: PushSchedule) -> str:
    """The stream's first word to the browser: which tabs it pushes parts for."""
    return f"event: watching\ndata: {json.dumps(schedule.tabs())}\n\n"


def part_frame(part: WatchedPart, html: str) -> str:
    """An SSE ``part`` frame: no ``id``, so the browser's resume point stays an event's."""
    data = json.dumps({"tab": part.tab, "id": part.part_id, "html": html})
    return f"event: part\ndata: {data}\n\n"
