"""Tracing is configured by the standard OTEL_* variables and is off unless asked for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orchestrate import __version__
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.tracing import (
    configure_tracing,
    is_enabled,
    record_run_span,
    run_context,
    run_span_id,
    run_trace_id,
    shutdown_tracing,
    span,
    tracer_provider,
)

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    shutdown_tracing()


def flush() -> None:
    provider = tracer_provider()
    assert provider is not None
    assert provider.force_flush()


class TestOffByDefault:
    def test_without_otel_variables_tracing_is_off_and_spans_are_nothing(self) -> None:
        assert configure_tracing({}) is False
        assert not is_enabled()
        with span("anything") as current:
            assert current is None

    @pytest.mark.parametrize("value", ["none", "NONE", " none "])
    def test_exporter_none_is_off(self, value: str) -> None:
        assert configure_tracing({"OTEL_TRACES_EXPORTER": value}) is False

    def test_sdk_disabled_wins_over_an_exporter(self) -> None:
        environ = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}
        assert configure_tracing(environ) is False

    def test_configuring_again_without_variables_turns_tracing_off(self) -> None:
        configure_tracing({}, exporter=InMemorySpanExporter())
        configure_tracing({})
        assert not is_enabled()

    def test_an_unknown_exporter_is_a_configuration_error_naming_the_choices(self) -> None:
        with pytest.raises(ConfigurationError, match="otlp, console or none"):
            configure_tracing({"OTEL_TRACES_EXPORTER": "jaeger"})


class TestExporters:
    def test_console_prints_each_span_to_stderr(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert configure_tracing({"OTEL_TRACES_EXPORTER": "console"}) is True
        with span("printed-span"):
            pass
        flush()
        assert '"name": "printed-span"' in capsys.readouterr().err

    def test_otlp_posts_protobuf_spans_to_the_configured_endpoint(
        self, monkeypatch: pytest.MonkeyPatch, collector: Collector
    ) -> None:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "orchestrate-test")
        assert configure_tracing() is True

        with span("exported-span"):
            pass
        flush()

        ((path, body),) = collector.requests
        assert path == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        (resource_spans,) = request.resource_spans
        service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}[
            "service.name"
        ]
        names = [s.name for scope in resource_spans.scope_spans for s in scope.spans]
        assert (service, names) == ("orchestrate-test", ["exported-span"])

    def test_the_service_is_called_orchestrate_unless_named(self) -> None:
        exporter = InMemorySpanExporter()
        configure_tracing({}, exporter=exporter)
        with span("named"):
            pass
        (finished,) = exporter.get_finished_spans()
        assert finished.resource.attributes["service.name"] == "orchestrate"
        assert finished.resource.attributes["service.version"] == __version__


class TestOneTracePerRun:
    def test_ids_are_derived_from_the_run_id_alone(self) -> None:
        assert run_trace_id("run_a") == run_trace_id("run_a") != run_trace_id("run_b")
        assert run_span_id("run_a") == run_span_id("run_a") != run_span_id("run_b")
        assert 0 < run_trace_id("run_a") < 2**128
        assert 0 < run_span_id("run_a") < 2**64

    def test_spans_of_separate_jobs_hang_under_the_runs_span(self) -> None:
        exporter = InMemorySpanExporter()
        configure_tracing({}, exporter=exporter)
        with span("job one", context=run_context("run_x", "run_x")):
            pass
        with span("job two", context=run_context("run_x", "run_x")):
            pass
        started = datetime(2026, 1, 1, tzinfo=UTC)
        record_run_span(
            "the run",
            run_id="run_x",
            started_at=started,
            finished_at=started + timedelta(seconds=3),
            attributes={},
        )
        one, two, run = exporter.get_finished_spans()
        assert run.context is not None
        assert run.parent is None
        assert {one.context.trace_id, two.context.trace_id} == {run.context.trace_id}
        assert one.parent is not None
        assert two.parent is not None
        assert one.parent.span_id == two.parent.span_id == run.context.span_id
        assert run.end_time is not None
        assert run.start_time is not None
        assert run.end_time - run.start_time == 3_000_000_000

    def test_a_ratio_sampler_keeps_or_drops_each_run_whole(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
        exporter = InMemorySpanExporter()
        configure_tracing({}, exporter=exporter)
        runs = [f"run_{n}" for n in range(40)]
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        for run_id in runs:
            with span("job", context=run_context(run_id, run_id)):
                pass
            record_run_span(
                "run", run_id=run_id, started_at=moment, finished_at=moment, attributes={}
            )
        finished = exporter.get_finished_spans()
        kept = {s.context.trace_id for s in finished if s.context is not None}
        assert 0 < len(kept) < len(runs), "a ratio of 0.5 keeps some runs and drops others"
        for trace_id in kept:
            assert sorted(s.name for s in finished if s.context.trace_id == trace_id) == [
                "job",
                "run",
            ]


class Collector:
    """An OTLP/HTTP collector on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    running.thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()
