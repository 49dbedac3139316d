"""Errors on a page are pages: the route class every dashboard router uses.

The API answers errors with problem JSON (``web/errors.py``); a person in a browser
needs a page instead. :class:`PageRoute` catches what a page's handler raises: no
session → a redirect to the sign-in form (back to this page afterwards); a domain error
→ the error page with the status the API would give and the error's own words; anything
else → a 500 page without internals (the traceback goes to the log).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from orchestrate.core.errors import OrchestrateError
from orchestrate.dashboard.parts import only_the_part, part_asked
from orchestrate.dashboard.render import render
from orchestrate.dashboard.session import SignInRequired, clear_session_cookie, current_session
from orchestrate.dashboard.shared import is_live_refresh, shared_renders
from orchestrate.web.errors import status_for

log = structlog.get_logger(__name__)


class PageRoute(APIRoute):
    """An ``APIRoute`` whose failures render as HTML pages or redirect to sign-in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                if is_live_refresh(request):
                    # Signed in first, on its own: only then may it get a shared page.
                    session = await current_session(request, request.app.state.runtime)
                    page = await shared_renders(request).answer(
                        request, session, lambda: handler(request)
                    )
                    part = part_asked(request)
                    return only_the_part(page, part) if part else page
                return await handler(request)
            except SignInRequired:
                return sign_in_redirect(request)
            except OrchestrateError as error:
                return error_page(request, status_for(error), error.title, error.message)
            except RequestValidationError as error:
                return error_page(request, 422, "Invalid request", _summary(error.errors()))
            except HTTPException as error:
                return error_page(request, error.status_code, "Request refused", str(error.detail))
            except Exception:
                log.exception("dashboard.page_failed", path=request.url.path)
                return error_page(
                    request, 500, "Something went wrong", "The error was logged for an operator."
                )

        return handle


def page_router() -> APIRouter:
    """A router for dashboard pages: HTML errors, not in the API's schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or target.startswith("/ui/login"):
        target = "/ui/"
    if request.headers.get("hx-request"):
        # htmx follows redirects inside the swap; make it navigate the whole page instead.
        response: Response = Response(status_code=204, headers={"HX-Redirect": "/ui/login"})
    else:
        response = RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
    clear_session_cookie(response, request)
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    session = getattr(request.state, "dashboard_session", None)
    return render(request, "error.html", session, status_code=status, title=title, detail=detail)


def _summary(errors: Any) -> str:
    parts = []
    for item in errors:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
    return "; ".join(parts) or "The request is invalid"
