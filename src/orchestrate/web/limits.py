"""Request bodies are capped per route: 413 problem+json before a byte too many is kept.

Without a cap a 50 MB story description was read, stored and served back. The JSON API
takes ``api_max_body_bytes`` (1 MiB by default); ``/webhooks/`` takes
``webhook_max_body_bytes`` (25 MiB, GitHub's own limit). A declared ``Content-Length``
over the limit is answered at once, without reading the body; a body without one
(chunked) is counted as it streams and refused when it crosses the limit. Within the
limit the middleware adds nothing but a header lookup: the webhook receiver is
latency-sensitive (``bench/webhooks.py``).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrate.web.errors import problem

WEBHOOK_PREFIX = "/webhooks/"

__all__ = ["WEBHOOK_PREFIX", "BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Pure ASGI (no per-request task or body copy), outside every route."""

    def __init__(self, app: ASGIApp, *, api_limit: int, webhook_limit: int) -> None:
        self.app = app
        self.api_limit = api_limit
        self.webhook_limit = webhook_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.webhook_limit if path.startswith(WEBHOOK_PREFIX) else self.api_limit
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = problem(413, "Content Too Large", _too_large(limit), instance=path)
            await response(scope, receive, send)
            return
        if declared is not None:
            # The server stops the body at Content-Length; nothing more to count.
            await self.app(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises a 413 once the streamed body crosses ``limit``.

    The exception surfaces in the route reading the body, so the app's own handler
    answers it as a problem document, like any other HTTP error.
    """
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, _too_large(limit))
        return message

    return counted


def _too_large(limit: int) -> str:
    return (
        f"The request body is over this route's limit of {limit} bytes; "
        "send less, or raise the limit in the server's settings"
    )
