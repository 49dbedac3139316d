"""OpenTelemetry tracing: off by default, one trace per run, configured by ``OTEL_*``.

``configure_tracing`` runs once per process (``serve``, ``worker``, every CLI command
that opens a runtime). Tracing is on only when ``OTEL_TRACES_EXPORTER`` names an
exporter (``otlp``, ``console``; a comma-separated list) and ``OTEL_SDK_DISABLED`` is
not ``true``. Unlike the OpenTelemetry SDK's own default (``otlp``), an unset variable
means off: a laptop install should not try to reach a collector on localhost:4318.
Off, nothing of the SDK is imported and every helper here returns one shared no-op
context manager before building a single attribute, so the agent loop pays a function
call per span. The rest of the standard variables are read by the SDK itself:
``OTEL_SERVICE_NAME`` (default here ``orchestrate``), ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER`` / ``_ARG``, ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``_TRACES_ENDPOINT`` / ``_HEADERS`` / ``_TIMEOUT`` (OTLP over HTTP/protobuf).

One trace per run, across jobs, processes and restarts. A pipeline run's steps and an
agent's turns run in different jobs, perhaps on different workers, perhaps after a
crash. Nothing is stored to tie them together: the trace id is *derived* from the run
id (a hash), and so is the span id of the run's own span (``run_span_id``). A job's
span is started as the child of a remote parent context with those two ids
(``run_context``), so every job of the run lands in one trace, whichever process runs
it, with no migration, no extra column and no extra statement. The run's own span is
started with exactly the derived ids (``RunIds``, the tracer provider's id generator,
hands them out while ``_FORCED`` is set), so the job spans hang under a real span:

- a pipeline run's ``pipeline.run`` span is recorded when the run reaches a final
  status, with its stored start and end times;
- an agent run's first job (the one that moves it from ``created`` to ``running``) is
  its run span; later jobs of the run are its children.

Sub-agents belong to their root's trace: the trace id is derived from the root run
(the end of the ``parent_id`` chain, which the agent's job reads anyway for the
budgets), and a child's first job span is a child of its parent's run span. An agent
tree started by a pipeline step belongs to the pipeline run's trace (agents remember
their ``pipeline_run_id``): the root agent's span is a child of the ``pipeline.run``
span, and the step's span links to it.

The sampler decides once per trace: the remote parent carries the decision the
configured sampler makes for the run's trace id, so a ratio sampler keeps or drops a
run whole. Attributes never carry prompts, responses, tool arguments or secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from orchestrate.core.errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import Link, Span, SpanKind, Tracer

TRACER_NAME = "orchestrate"
DEFAULT_SERVICE_NAME = "orchestrate"
EXPORTERS = ("otlp", "console")

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]
Attributes = Mapping[str, AttributeValue]

_FORCED: ContextVar[tuple[int, int] | None] = ContextVar("orchestrate_forced_ids", default=None)
"""(trace id, span id) the id generator hands out for the next span, when set."""


@dataclass
class _State:
    provider: TracerProvider | None = None
    tracer: Tracer | None = None


_state = _State()


def configure_tracing(
    environ: Mapping[str, str] | None = None, *, exporter: SpanExporter | None = None
) -> bool:
    """Set up this process's tracer from ``environ`` (default ``os.environ``); True if on.

    ``exporter``: export every span to it at once, whatever the variables say (tests
    pass an in-memory exporter). Calling again replaces the previous set-up.
    """
    environ = os.environ if environ is None else environ
    names = _exporter_names(environ)
    if exporter is None and (not names or _sdk_disabled(environ)):
        shutdown_tracing()
        return False
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=_resource(), id_generator=_run_ids())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        for name in names:
            provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    shutdown_tracing()
    _state.provider = provider
    _state.tracer = provider.get_tracer(TRACER_NAME)
    return True


def shutdown_tracing() -> None:
    """Flush and stop the current tracer, if any; tracing is off afterwards."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    if provider is not None:
        provider.shutdown()


def is_enabled() -> bool:
    return _state.tracer is not None


def tracer_provider() -> TracerProvider | None:
    """The SDK provider in use (to flush it), or None when tracing is off."""
    return _state.provider


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get("OTEL_TRACES_EXPORTER", "")
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    names = [name for name in names if name != "none"]
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER names {', '.join(unknown)}, which Orchestrate cannot "
            f"export to; use otlp, console or none"
        )
    return names


def _sdk_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def _resource() -> Resource:
    """The SDK's resource (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``) with our
    version, named ``orchestrate`` unless those name the service."""
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource

    from orchestrate import __version__

    resource = Resource({SERVICE_VERSION: __version__}).merge(Resource.create())
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # stderr: a command's own output (``--json``) stays parseable.
        return ConsoleSpanExporter(out=sys.stderr)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _run_ids() -> IdGenerator:
    """The id generator: random ids, except the derived ones while ``_FORCED`` is set."""
    from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

    class RunIds(IdGenerator):
        def __init__(self) -> None:
            self._random = RandomIdGenerator()

        def generate_span_id(self) -> int:
            forced = _FORCED.get()
            return forced[1] if forced else self._random.generate_span_id()

        def generate_trace_id(self) -> int:
            forced = _FORCED.get()
            return forced[0] if forced else self._random.generate_trace_id()

    return RunIds()


# --- ids derived from run ids ------------------------------------------------------------


def run_trace_id(run_id: str) -> int:
    """The trace id of everything run ``run_id`` (a root run) does: 128 bits of a hash."""
    digest = hashlib.sha256(b"orchestrate-trace:" + run_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1


def run_span_id(run_id: str) -> int:
    """The span id of run ``run_id``'s own span: 64 bits of another hash."""
    digest = hashlib.sha256(b"orchestrate-span:" + run_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") or 1


def run_context(root_id: str, parent_id: str) -> Context:
    """A context whose (remote) parent is run ``parent_id``'s span in ``root_id``'s trace."""
    from opentelemetry import trace

    trace_id = run_trace_id(root_id)
    parent = trace.SpanContext(
        trace_id,
        run_span_id(parent_id),
        is_remote=True,
        trace_flags=trace.TraceFlags(
            trace.TraceFlags.SAMPLED if _is_sampled(trace_id) else trace.TraceFlags.DEFAULT
        ),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def run_link(root_id: str, run_id: str) -> Link:
    """A link to the span of run ``run_id`` in ``root_id``'s trace (the agent a pipeline
    step started)."""
    from opentelemetry import trace

    context = trace.SpanContext(
        run_trace_id(root_id),
        run_span_id(run_id),
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return trace.Link(context)


def _is_sampled(trace_id: int) -> bool:
    """What the configured sampler decides for a new trace with this id."""
    provider = _state.provider
    if provider is None:
        return False
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.sampling import Decision

    # An empty context: the decision for a new trace, whatever span is current here.
    decision = provider.sampler.should_sample(Context(), trace_id, "run").decision
    return decision is Decision.RECORD_AND_SAMPLE


# --- spans -------------------------------------------------------------------------------

OFF: contextlib.nullcontext[None] = contextlib.nullcontext()
"""What every span helper returns when tracing is off (a reusable no-op)."""


def span(
    name: str,
    *,
    kind: SpanKind | None = None,
    attributes: Attributes | None = None,
    context: Context | None = None,
    links: Sequence[Link] = (),
) -> contextlib.AbstractContextManager[Span | None]:
    """A span around a block, current inside it; yields None when tracing is off.

    An exception leaving the block is recorded on the span and sets its status to
    error. Callers build costly attributes only when they get a span.
    """
    tracer = _state.tracer
    if tracer is None:
        return OFF
    return _started(tracer, name, kind, attributes, context, links)


@contextlib.contextmanager
def _started(
    tracer: Tracer,
    name: str,
    kind: SpanKind | None,
    attributes: Attributes | None,
    context: Context | None,
    links: Sequence[Link],
) -> Iterator[Span]:
    from opentelemetry.trace import SpanKind

    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kind or SpanKind.INTERNAL,
        attributes=attributes,
        links=links,
    ) as current:
        yield current


def open_span(
    name: str, *, attributes: Attributes | None = None, start_time: int | None = None
) -> Span | None:
    """A span the caller ends (``span.end()``), child of the current one; not made
    current. ``start_time``: nanoseconds since the epoch (``time.time_ns()``)."""
    tracer = _state.tracer
    if tracer is None:
        return None
    return tracer.start_span(name, attributes=attributes, start_time=start_time)


def run_span(
    name: str,
    *,
    root_id: str,
    run_id: str,
    parent_id: str | None = None,
    attributes: Attributes | None = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """The span of run ``run_id`` itself, with the ids its jobs' spans point to.

    ``root_id``: the root of the run's tree (itself for a top-level run); ``parent_id``:
    the run whose span it is a child of (None for a root run).
    """
    tracer = _state.tracer
    if tracer is None:
        return OFF
    context = _empty() if parent_id is None else run_context(root_id, parent_id)
    return _forced(tracer, name, (run_trace_id(root_id), run_span_id(run_id)), context, attributes)


@contextlib.contextmanager
def _forced(
    tracer: Tracer,
    name: str,
    ids: tuple[int, int],
    context: Context,
    attributes: Attributes | None,
) -> Iterator[Span]:
    token = _FORCED.set(ids)
    try:
        started = tracer.start_span(name, context=context, attributes=attributes)
    finally:
        _FORCED.reset(token)
    from opentelemetry import trace

    with trace.use_span(started, end_on_exit=True) as current:
        yield current


def record_run_span(
    name: str,
    *,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    attributes: Attributes,
    failed: bool = False,
) -> None:
    """Record, after the fact, the span of a (root) run that has just ended.

    Its ids are the derived ones its jobs' spans already point to.
    """
    tracer = _state.tracer
    if tracer is None:
        return
    from opentelemetry.trace import Status, StatusCode

    token = _FORCED.set((run_trace_id(run_id), run_span_id(run_id)))
    try:
        ended = tracer.start_span(
            name, context=_empty(), attributes=attributes, start_time=_nanoseconds(started_at)
        )
    finally:
        _FORCED.reset(token)
    if failed:
        ended.set_status(Status(StatusCode.ERROR))
    ended.end(end_time=_nanoseconds(finished_at))


def mark_failed(current: Span, error_type: str, description: str | None = None) -> None:
    """Set ``error.type`` and the error status on a span (a failure that raised nothing)."""
    from opentelemetry.trace import Status, StatusCode

    current.set_attribute("error.type", error_type)
    current.set_status(Status(StatusCode.ERROR, description))


def _empty() -> Context:
    """No current span: a run's own span is a root (or the child of a remote parent)."""
    from opentelemetry.context import Context

    return Context()


def _nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)
