"""Who is looking at a page: the session cookie, the CSRF check, and the write guard.

The cookie holds a random session secret (never the API token); it is ``HttpOnly`` (no
script reads it), ``SameSite=Lax`` (no cross-site form post carries it), ``Secure`` when
the page was served over HTTPS, and it expires with the session. Every state-changing
request must also carry the session's CSRF token (a form field or the ``X-CSRF-Token``
header), compared in constant time, so a forged post is refused even from a browser that
would send the cookie.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, DashboardSession, Permission
from orchestrate.core.errors import AuthenticationFailed, PermissionDenied
from orchestrate.core.identity import authorize
from orchestrate.timeline import service as timeline
from orchestrate.web.deps import RuntimeDep

COOKIE = "orchestrate_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(AuthenticationFailed):
    """No valid session: a page answers with a redirect to the sign-in form."""


class CsrfRejected(PermissionDenied):
    """A state-changing request without the session's CSRF token."""


def session_lifetime(request: Request) -> timedelta:
    hours: float = request.app.state.runtime.settings.dashboard_session_hours
    return timedelta(hours=hours)


def client_source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_session(request: Request, runtime: RuntimeDep) -> DashboardSession:
    """The signed-in session of this request, or ``SignInRequired``; checked once per
    request (a live refresh is checked before its page is rendered, see ``shared``)."""
    checked: DashboardSession | None = getattr(request.state, "dashboard_session", None)
    if checked is not None:
        return checked
    session = await verified_session(request, runtime)
    request.state.actor = session.actor
    request.state.dashboard_session = session
    if request.method == "GET" and "hx-request" not in request.headers:
        # Where the event log stands before the page reads anything: its live stream
        # starts there, so a change made while the page loads is not missed (live.js).
        request.state.events_before = await timeline.start_of_new_events(
            runtime.uow(read_only=True, urgent=True)
        )
    return session


async def verified_session(request: Request, runtime: RuntimeDep) -> DashboardSession:
    """The session of this request's cookie as the database has it now (never the one
    the request already checked): a long stream asks again whether it is still signed
    in; ``SignInRequired`` once it is not."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 200:
        raise SignInRequired("Sign in with an API token to see the dashboard")
    try:
        session = await auth.dashboard_session(
            runtime.uow(read_only=True, urgent=True),
            runtime.uow(urgent=True),
            secret,
            client_source(request),
            session_lifetime(request),
        )
    except AuthenticationFailed as error:
        raise SignInRequired(str(error)) from error
    return session


SessionDep = Annotated[DashboardSession, Depends(current_session)]


async def _csrf_token_sent(request: Request) -> str:
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def require_csrf(request: Request, session: SessionDep) -> DashboardSession:
    """The session, once the request proves it came from one of our pages."""
    sent = await _csrf_token_sent(request)
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise CsrfRejected(
            "This form is missing its security token or it has expired; reload the page "
            "and try again"
        )
    return session


async def require_writer(session: Annotated[DashboardSession, Depends(require_csrf)]) -> Actor:
    """The actor of a state-changing request: signed in, CSRF-checked, allowed to write."""
    authorize(session.actor, Permission.WRITE)
    return session.actor


WriterDep = Annotated[Actor, Depends(require_writer)]


def can_write(session: DashboardSession) -> bool:
    return session.actor.role.allows(Permission.WRITE)


def set_session_cookie(
    response: Response, request: Request, secret: str, lifetime: timedelta
) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )
