"""Every HTTP request is a server span named by its route template, when tracing is on."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from orchestrate.core.tracing import shutdown_tracing
from tests.spans import attribute, spans

__all__ = ["spans"]

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_a_request_is_a_server_span_named_by_its_route_template(
    api: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    response = await api.get("/api/agents/agent_nope", headers={"Authorization": "Bearer x"})

    assert response.status_code == 401
    (request,) = spans.get_finished_spans()
    assert request.name == "GET /api/agents/{agent_id}"
    assert request.kind is SpanKind.SERVER
    assert attribute(request, "http.route") == "/api/agents/{agent_id}"
    assert attribute(request, "http.request.method") == "GET"
    assert attribute(request, "http.response.status_code") == 401
    assert attribute(request, "url.path") == "/api/agents/agent_nope"


async def test_a_callers_traceparent_makes_the_request_its_child(
    api: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"

    await api.get("/api/health", headers={"traceparent": traceparent})

    (request,) = spans.get_finished_spans()
    assert request.context is not None
    assert request.parent is not None
    assert f"{request.context.trace_id:032x}" == CALLER_TRACE
    assert f"{request.parent.span_id:016x}" == CALLER_SPAN


async def test_with_tracing_off_requests_record_nothing(
    api: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    shutdown_tracing()

    response = await api.get("/api/health")

    assert response.status_code == 200
    assert spans.get_finished_spans() == ()
