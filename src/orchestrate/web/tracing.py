"""A server span per HTTP request, named by its route template (``GET /api/runs/{run_id}``).

Pure ASGI (no response buffering, streams pass through). With tracing off
(``core.tracing``) a request costs one function call here. An incoming W3C
``traceparent`` header makes the request a child of the caller's span. Only the
method, route, path and status are recorded: no query string, header or body.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrate.core import tracing

_PROPAGATOR = TraceContextTextMapPropagator()


class _HeaderGetter(Getter[Scope]):
    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        found = [
            value.decode("latin-1") for name, value in carrier.get("headers", []) if name == wanted
        ]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier.get("headers", [])]


_GETTER = _HeaderGetter()


class TracingMiddleware:
    """Opens a ``SERVER`` span around each HTTP request when tracing is on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.is_enabled():
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        attributes: dict[str, tracing.AttributeValue] = {
            "http.request.method": method,
            "url.path": str(scope.get("path", "")),
            "url.scheme": str(scope.get("scheme", "http")),
        }
        parent = _PROPAGATOR.extract(scope, getter=_GETTER)
        with tracing.span(
            method, kind=SpanKind.SERVER, attributes=attributes, context=parent
        ) as current:
            status = 500

            async def send_with_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await self.app(scope, receive, send_with_status)
            finally:
                if current is not None:
                    route = route_template(scope)
                    current.update_name(f"{method} {route}")
                    current.set_attribute("http.route", route)
                    current.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        current.set_attribute("error.type", str(status))
                        current.set_status(Status(StatusCode.ERROR))


def route_template(scope: Scope) -> str:
    """The matched route's path template, its routers' prefixes included, or
    ``unmatched``."""
    # FastAPI leaves the matched APIRoute in the scope. Since FastAPI 0.137 an included
    # router's routes keep their own path (without the router's prefix), so the prefix is
    # recovered from the request path. The request metrics label by it too.
    route = scope.get("route")
    path = str(scope.get("path", ""))
    if route is not None and hasattr(route, "path_regex") and hasattr(route, "path_format"):
        for start in _slashes(path):
            if route.path_regex.fullmatch(path[start:]):
                return path[:start] + str(route.path_format)
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", []):
        if isinstance(candidate, Route) and candidate.matches(scope)[0] is Match.FULL:
            return candidate.path
    return "unmatched"


def _slashes(path: str) -> Iterable[int]:
    return (index for index, char in enumerate(path) if char == "/")
