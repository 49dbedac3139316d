"""Capturing spans in tests: tracing set up through ``configure_tracing`` with an
in-memory exporter, so spans go through the real SDK, ids and sampler included."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orchestrate.core.tracing import configure_tracing, shutdown_tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test, every span exported at once to the returned exporter."""
    exporter = InMemorySpanExporter()
    configure_tracing({}, exporter=exporter)
    try:
        yield exporter
    finally:
        shutdown_tracing()


def named(finished: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


def trace_ids(finished: Sequence[ReadableSpan]) -> set[int]:
    return {span.context.trace_id for span in finished if span.context is not None}


def attribute(span: ReadableSpan, key: str) -> object:
    assert span.attributes is not None
    return span.attributes.get(key)
