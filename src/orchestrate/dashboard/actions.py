"""After a form post: back to a page (POST, then redirect, then GET) with a message.

A person who reloads the page they land on does not post the form again, and the
message they see is one of ours, carried in a short-lived cookie.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse

from orchestrate.dashboard.render import FLASH_COOKIE


def done(request: Request, to: str, message: str) -> RedirectResponse:
    """Redirect to ``to`` (a dashboard path; anything else goes home) showing ``message``."""
    if not to.startswith("/ui/") or to.startswith("//"):
        to = "/ui/"
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        FLASH_COOKIE,
        message[:300],
        max_age=60,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response
