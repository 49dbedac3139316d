"""Cutting a live part out of a rendered page: the element with the id, whole."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse

from orchestrate.dashboard.parts import live_part, only_the_part, part_asked

PAGE = b"""<!doctype html><html><head><title>x</title></head><body>
<nav><section id="menu"><a href="/">home</a></section></nav>
<main>
<section id="agents-table" data-live="agent." data-live-url="/ui/agents" aria-label="A">
  <section class="inner"><p>one</p></section>
  <table><tr><td>&lt;section id=&#34;agents-table&#34;&gt; as escaped text</td></tr></table>
</section>
<div id="after">tail</div>
</main></body></html>"""


def test_the_part_is_cut_from_its_start_tag_to_its_matching_end_tag() -> None:
    part = live_part(PAGE, "agents-table")
    assert part is not None
    assert part.startswith(b'<section id="agents-table" data-live="agent."')
    assert part.endswith(b"</table>\n</section>")
    assert b'class="inner"' in part  # a nested element of the same name stays inside
    assert b"after" not in part
    assert b"<nav>" not in part


def test_other_parts_and_missing_ones() -> None:
    assert live_part(PAGE, "after") == b'<div id="after">tail</div>'
    assert live_part(PAGE, "menu") == b'<section id="menu"><a href="/">home</a></section>'
    assert live_part(PAGE, "nowhere") is None
    assert live_part(PAGE, "agents") is None  # a prefix of an id is not that id
    assert live_part(b'<section id="open">never closed', "open") is None


def test_a_response_keeps_its_headers_with_the_part_as_its_body() -> None:
    page = HTMLResponse(PAGE.decode(), headers={"Cache-Control": "no-store"})
    cut = only_the_part(page, "after")
    assert cut.body == b'<div id="after">tail</div>'
    assert cut.headers["content-length"] == str(len(cut.body))
    assert cut.headers["cache-control"] == "no-store"
    assert cut.headers["content-type"].startswith("text/html")
    assert only_the_part(page, "nowhere") is page
    error = HTMLResponse(PAGE.decode(), status_code=404)
    assert only_the_part(error, "after") is error


@pytest.mark.parametrize(
    ("target", "asked"),
    [("agents-table", "agents-table"), ("", None), ("a b", None), ("#x", None), ("x" * 101, None)],
)
def test_only_a_plain_id_is_taken_from_hx_target(target: str, asked: str | None) -> None:
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [(b"hx-target", target.encode())]}
    )
    assert part_asked(request) == asked
