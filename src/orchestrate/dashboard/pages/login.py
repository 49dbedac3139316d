"""Signing in and out: ``/`` → ``/ui/`` → the sign-in form when there is no session.

The form takes an API token (``orchestrate token create``, or the admin token ``serve``
printed on its first start) and opens a dashboard session for it. The sign-in form has
no session yet to tie a CSRF token to; ``SameSite=Lax`` on the cookie and the
``Origin`` check below keep another site from signing a browser in as someone else.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Form, Request
from starlette.responses import RedirectResponse, Response

from orchestrate.auth import service as auth
from orchestrate.core.errors import AuthenticationFailed
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import (
    COOKIE,
    SessionDep,
    clear_session_cookie,
    client_source,
    require_csrf,
    session_lifetime,
    set_session_cookie,
)
from orchestrate.web.deps import RuntimeDep

router = page_router()


def _safe_next(target: str | None) -> str:
    """Only a dashboard path of this site: never an open redirect."""
    if not target or not target.startswith("/ui/") or target.startswith("//") or "\\" in target:
        return "/ui/"
    return target


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None  # no Origin (old browsers, curl) is accepted; "null" is not
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.get("/ui/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", None, next=_safe_next(next), error="")


@router.post("/ui/login")
async def login(
    request: Request,
    runtime: RuntimeDep,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
) -> Response:
    target = _safe_next(next)
    if not _same_origin(request):
        return render(
            request,
            "login.html",
            None,
            status_code=403,
            next=target,
            error="This sign-in came from another site and was refused.",
        )
    lifetime = session_lifetime(request)
    try:
        signed_in = await auth.open_dashboard_session(
            runtime.uow(urgent=True), token, client_source(request), lifetime
        )
    except AuthenticationFailed:
        return render(
            request,
            "login.html",
            None,
            status_code=401,
            next=target,
            error="That token is not valid, or it was revoked.",
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, signed_in.secret, lifetime)
    return response


@router.post("/ui/logout")
async def logout(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    await require_csrf(request, session)
    await auth.close_dashboard_session(
        runtime.uow(urgent=True), request.cookies[COOKIE], session.actor
    )
    response = RedirectResponse("/ui/login", status_code=303)
    clear_session_cookie(response, request)
    return response


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui/", status_code=307)
