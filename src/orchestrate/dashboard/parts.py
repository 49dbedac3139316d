"""A live refresh gets only the part it refreshes, not the whole page.

htmx picks the part out of the response (``hx-select``), so a whole page worked, but
every open browser then parsed the whole page to keep one table: with fifty pages open
on two cores the browsers' own work was what the last pages waited for
(``bench/dashboard.py --live``). The part is cut out of the rendered page here — the
element whose id htmx names in ``HX-Target``, from its start tag to its matching end
tag — so templates stay whole pages and a page loaded normally is unchanged.

The cut relies on what our templates guarantee: the part is an element with a unique
``id``, not a void element, and any text inside it is escaped (no raw ``<tag`` in it).
When the part is not found (an error page, another layout), the whole page goes out as
before.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

PART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,99}")
"""What a live part's id may be: what a refresh may name, and a stream may push."""
_TAG_NAME = re.compile(rb"<([A-Za-z][A-Za-z0-9-]*)")


def part_asked(request: Request) -> str | None:
    """The id of the part a live refresh swaps (``HX-Target``), if it is a plain id."""
    target = request.headers.get("hx-target", "")
    return target if PART_ID.fullmatch(target) else None


def live_part(page: bytes, part_id: str) -> bytes | None:
    """The element with id ``part_id`` in ``page``, whole; None if there is none."""
    at = page.find(b' id="' + part_id.encode() + b'"')
    if at < 0:
        return None
    start = page.rfind(b"<", 0, at)
    name = _TAG_NAME.match(page, start) if start >= 0 else None
    if name is None:
        return None
    tags = re.compile(rb"<(/?)" + re.escape(name.group(1)) + rb"(?=[\s/>])", re.IGNORECASE)
    depth = 0
    for tag in tags.finditer(page, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            end = page.find(b">", tag.end())
            return page[start : end + 1] if end >= 0 else None
    return None


def only_the_part(response: Response, part_id: str) -> Response:
    """``response`` with just the part in its body, when it is a page that has it."""
    if response.status_code != 200 or not hasattr(response, "body"):
        return response
    part = live_part(bytes(response.body), part_id)
    if part is None:
        return response
    return with_body(200, response.raw_headers, part)


def with_body(status_code: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
    """A response with ``headers`` (their ``content-length`` replaced) and ``body``."""
    response = Response(content=body, status_code=status_code)
    response.raw_headers = [
        *((name, value) for name, value in headers if name != b"content-length"),
        (b"content-length", str(len(body)).encode()),
    ]
    return response
