"""Prometheus metrics of the HTTP API and of the job queue.

HTTP metrics are labelled by route template (``/api/stories/{story_id}``), never by
raw path, so ids cannot explode the number of series; requests that match no route
share the label ``unmatched``. Queue gauges are refreshed
from the database on every scrape.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.routing import Match, Route

from orchestrate.core.jobs import QueueStats

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HTTP_REQUESTS = Counter(
    "orchestrate_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "orchestrate_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_JOBS = Gauge(
    "orchestrate_job_queue_jobs",
    "Jobs in the queue by kind and status (queued, running, dead).",
    ["kind", "status"],
)
QUEUE_DEPTH = Gauge("orchestrate_job_queue_depth", "Jobs waiting to run (status queued).")
QUEUE_OLDEST_AGE = Gauge(
    "orchestrate_job_queue_oldest_age_seconds",
    "How long the oldest due job has been waiting to start; 0 when none waits.",
)


def update_queue_gauges(stats: QueueStats) -> None:
    QUEUE_JOBS.clear()
    for (kind, status), count in stats.counts.items():
        QUEUE_JOBS.labels(kind, status.value).set(count)
    QUEUE_DEPTH.set(stats.depth)
    age = stats.oldest_due_age.total_seconds() if stats.oldest_due_age else 0.0
    QUEUE_OLDEST_AGE.set(max(age, 0.0))


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class HttpMetricsMiddleware:
    """Pure ASGI middleware (no response buffering) counting and timing requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method, route, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    # FastAPI leaves the matched APIRoute in the scope. Since FastAPI 0.137 an included
    # router's routes keep their own path (without the router's prefix) and app.routes
    # holds opaque wrappers, so the prefix is recovered from the request path instead.
    route = scope.get("route")
    path = str(scope.get("path", ""))
    if route is not None and hasattr(route, "path_regex") and hasattr(route, "path_format"):
        for start in (i for i, char in enumerate(path) if char == "/"):
            if route.path_regex.fullmatch(path[start:]):
                return path[:start] + str(route.path_format)
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", []):
        if isinstance(candidate, Route) and candidate.matches(scope)[0] is Match.FULL:
            return candidate.path
    return "unmatched"
