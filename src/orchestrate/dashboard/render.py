"""Turning a page's data into HTML: the one Jinja2 environment and its filters.

Autoescaping is on for every template, and undefined names fail loudly
(``StrictUndefined``): everything a page shows came from a model or a forge, and none of
it may become markup. Times are rendered relative with the absolute UTC time in the
``title`` (and ``datetime``) so ``static/time.js`` can keep the relative text current.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from orchestrate import __version__
from orchestrate.auth.service import DashboardSession
from orchestrate.dashboard.nav import NAV
from orchestrate.dashboard.session import can_write

STATIC_PREFIX = "/ui/static"
VENDOR_PREFIX = "/ui/vendor"

SECURITY_HEADERS = {
    # Our own files only: no inline script or style, nothing from another origin.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


AGENT_STATE_EVENTS = (
    "agent.created agent.running agent.waiting_ agent.paused agent.completed agent.failed "
    "agent.cancelled"
)
"""Live tokens for a list of agents: their states change it, not each message they record
(``agent.message_recorded``, which only an agent's own page follows)."""


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """``3 min ago`` / ``in 2 h``: how people read times on a dashboard."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now" if not future else "in a few seconds"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = round(seconds / size)
            return f"in {amount} {unit}" if future else f"{amount} {unit} ago"
    return "just now"


def time_tag(moment: datetime | None) -> Markup:
    """A ``<time>`` element: relative text, the absolute UTC time on hover.

    Built without escaping: every part is made here from a datetime (a long list shows
    hundreds of them, and ``Markup.format`` costs several times as much).
    """
    if moment is None:
        return Markup('<span class="muted">—</span>')
    absolute = moment.astimezone(UTC)
    iso = absolute.isoformat()
    title = absolute.strftime("%Y-%m-%d %H:%M:%S UTC")
    text = relative(moment)
    return Markup(f'<time datetime="{iso}" title="{title}">{text}</time>')  # noqa: S704


def duration(value: timedelta | float | None) -> str:
    """``1 h 02 min`` / ``4.2 s`` / ``85 ms``."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def money(value: float | Decimal | None) -> str:
    if value is None:
        return "—"
    amount = float(value)
    return f"${amount:,.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@functools.lru_cache(maxsize=512)
def state_badge(state: str | None) -> Markup:
    """A state as a badge; the class groups states by what they mean to a person.

    States are a few enum values, so each badge is built (and escaped) once.
    """
    if state is None:
        return Markup('<span class="badge">—</span>')
    return Markup('<span class="badge badge-{}">{}</span>').format(
        _STATE_TONE.get(state, "neutral"), state.replace("_", " ")
    )


_STATE_TONE = {
    **dict.fromkeys(
        ("completed", "succeeded", "success", "merged", "done", "delivered", "passed", "ok"),
        "good",
    ),
    **dict.fromkeys(
        (
            "failed",
            "failure",
            "error",
            "errored",
            "dead",
            "cancelled",
            "blocked",
            "rejected",
            "down",
            "firing",
            "exhausted",
        ),
        "bad",
    ),
    **dict.fromkeys(
        (
            "waiting_for_approval",
            "waiting_for_answer",
            "waiting",
            "paused",
            "pending",
            "held",
            "stuck",
            "stopped",
            "denied",
            "degraded",
            "stale",
            "warning",
        ),
        "warn",
    ),
    **dict.fromkeys(
        ("running", "in_progress", "queued", "open", "review", "active", "started"), "busy"
    ),
}


def is_web_address(value: str | None) -> bool:
    """Whether ``value`` is an http(s) address, safe to put in a link's ``href``.

    Addresses come from forges, stories and models: a ``javascript:`` or ``data:`` one
    would run in the page when clicked (the Content-Security-Policy blocks that too; this
    keeps such a link from being drawn at all).
    """
    return bool(value) and str(value).lower().startswith(("https://", "http://"))


def query(base: Mapping[str, Any], **changes: Any) -> str:
    """The query string of this page with ``changes`` (``None`` removes a parameter)."""
    merged = {k: v for k, v in {**base, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged, doseq=True) if merged else "?"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("orchestrate.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship in the package: no stat() per render
    )
    env.filters.update(
        {
            "reltime": time_tag,
            "duration": duration,
            "money": money,
            "count": count,
            "pretty_json": pretty_json,
            "badge": state_badge,
        }
    )
    env.globals.update(
        {
            "version": __version__,
            "static": lambda path: f"{STATIC_PREFIX}/{path}",
            "vendor": lambda path: f"{VENDOR_PREFIX}/{path}",
            "query": query,
            "is_web_address": is_web_address,
            "nav": NAV,
            "AGENT_STATE_EVENTS": AGENT_STATE_EVENTS,
        }
    )
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    template: str,
    session: DashboardSession | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` for ``session``'s person, with the layout's context."""
    response = templates.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "actor": session.actor if session else None,
            "can_write": can_write(session) if session else False,
            "csrf_token": session.csrf_token if session else "",
            "params": dict(request.query_params),
            "path": request.url.path,
            "flash": request.cookies.get(FLASH_COOKIE, ""),
            "events_before": getattr(request.state, "events_before", None),
            **context,
        },
        status_code=status_code,
        headers=SECURITY_HEADERS,
    )
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


FLASH_COOKIE = "orchestrate_flash"
"""A one-shot message shown on the next page after a form post redirects (set by
``actions.done``); it holds only our own words, and the template escapes it anyway."""
