"""``orchestrate serve`` (API + worker in one process) and ``orchestrate worker``."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import signal
import socket
from collections.abc import Coroutine
from types import FrameType
from typing import Annotated, Any

import structlog
import typer
import uvicorn

from orchestrate.app import capabilities
from orchestrate.app.http import create_app
from orchestrate.app.worker import build_registry, install_stop_signals, run_worker
from orchestrate.auth import service as auth
from orchestrate.cli.output import say, say_styled
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.logging import configure_logging
from orchestrate.core.migrate import upgrade_to_head
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy, require_sandbox, sandbox_warning
from orchestrate.core.settings import Settings, load_settings
from orchestrate.core.tracing import configure_tracing
from orchestrate.monitoring.service import serve_process_metrics
from orchestrate.web.lifecycle import shutdown_event

log = structlog.get_logger(__name__)

# With the shutdown event set, streams end at once; this only bounds a slow client.
_CONNECTIONS_GRACE_SECONDS = 1


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (ORCHESTRATE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (ORCHESTRATE_PORT).")] = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Also run the job worker loops.")
    ] = True,
) -> None:
    """Start the API, the webhook receiver and a worker in one process."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing()
    check_sandbox(settings)
    listener = listen(settings.host, settings.port)  # a busy port fails before any work
    upgrade_to_head(settings.database_url_value)
    run_loop(_serve(settings, listener, with_worker=worker))


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound here so a busy port is one clear line (exit 2).

    uvicorn would log the bind error as a JSON line and exit 3 after the app started.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise ConfigurationError(f"cannot listen on {host}: {error.strerror}") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        reason = "is in use" if error.errno == errno.EADDRINUSE else f"cannot be used ({error})"
        raise ConfigurationError(
            f"port {port} on {host} {reason}; stop what listens there, or choose another "
            "port with --port or ORCHESTRATE_PORT"
        ) from None
    return listener


async def _serve(settings: Settings, listener: socket.socket, *, with_worker: bool) -> None:
    runtime = Runtime.open(settings)
    app = create_app(runtime)
    registry = build_registry(runtime) if with_worker else None
    _settle_heap()  # after the line above: every capability is imported by now
    await open_capabilities(runtime)
    issued = await auth.create_bootstrap_token(runtime.uow())
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # Responses still open this long after the shutdown event are cancelled.
        timeout_graceful_shutdown=_CONNECTIONS_GRACE_SECONDS,
    )
    stop = asyncio.Event()
    server = StoppingServer(config, (stop, shutdown_event(app)))
    _keep_signals_from_killing(stop)
    worker_task = (
        asyncio.create_task(run_worker(runtime, stop, registry)) if registry is not None else None
    )
    announce = asyncio.create_task(_announce(server, settings, issued))
    end_streams = asyncio.create_task(_end_streams_on_exit(shutdown_event(app), runtime))
    background = start_background(runtime, stop)
    try:
        await server.serve(sockets=[listener])
    finally:
        announce.cancel()
        end_streams.cancel()
        stop.set()
        await asyncio.gather(*background)
        if worker_task is not None:
            await worker_task
        await runtime.close()


class StoppingServer(uvicorn.Server):
    """uvicorn's server, which also tells everything else to stop the moment it is asked to.

    uvicorn notices SIGTERM and then waits for open responses before it returns, and
    only then would ``_serve`` stop the worker: a streaming response kept it waiting
    for ever, and the worker's drain came after. Setting the events here lets the
    worker hand its jobs back, the background tasks end and streaming responses
    (which watch ``web.lifecycle.shutdown_event``) close, all while uvicorn shuts down.
    """

    def __init__(self, config: uvicorn.Config, events: tuple[asyncio.Event, ...]) -> None:
        super().__init__(config)
        self._events = events
        self._loop = asyncio.get_running_loop()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A signal handler: wake the loop rather than touch its waiters from here.
        for event in self._events:
            self._loop.call_soon_threadsafe(event.set)


async def open_capabilities(runtime: Runtime) -> None:
    """Run every capability's hooks for a process whose runtime just opened."""
    for hook in capabilities.open_hooks():
        await hook(runtime)


def start_background(runtime: Runtime, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """Start every capability's background task; each returns once ``stop`` is set."""
    return [asyncio.create_task(task(runtime, stop)) for task in capabilities.background_tasks()]


def check_sandbox(settings: Settings) -> None:
    """Stop with one clear line when the sandbox cannot work; warn when it is off.

    A missing bubblewrap raises ``ConfigurationError`` (exit 2): agents and steps must
    never run unconfined without the operator having chosen it.
    """
    policy = SandboxPolicy.from_settings(settings)
    require_sandbox(policy)
    warning = sandbox_warning(policy)
    if warning is not None:
        log.warning("sandbox_disabled", detail=warning)
        say_styled("[bold yellow]Warning:[/bold yellow] {warning}", warning=warning)


def _keep_signals_from_killing(stop: asyncio.Event) -> None:
    """Make SIGINT/SIGTERM end ``serve`` with exit code 0 after a graceful shutdown.

    uvicorn handles the signal itself, then restores the previous handlers and raises
    the signal again; with these handlers in place that second delivery only sets
    ``stop`` (which the shutdown sets anyway) instead of killing the process before
    the worker has drained.
    """
    loop = asyncio.get_running_loop()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stop.set)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)


async def _announce(
    server: uvicorn.Server, settings: Settings, issued: auth.IssuedToken | None
) -> None:
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.05)
    url = f"http://{settings.host}:{settings.port}"
    say_styled("[bold]Orchestrate[/bold] is running at {url}  (API docs: {url}/api/docs)", url=url)
    if issued is not None:
        say("First start: created an admin API token. It is shown only this once:")
        print(issued.secret, flush=True)
        say("Use it as 'Authorization: Bearer <token>'; manage tokens with 'orchestrate token'.")


async def _end_streams_on_exit(shutdown: asyncio.Event, runtime: Runtime) -> None:
    """Close the event feed as soon as the server begins to stop.

    An event stream (``/api/events/stream``, a run's logs, ``--follow``) follows the
    feed and ends once it is closed, so uvicorn need not wait out its grace period.
    """
    await shutdown.wait()
    await runtime.events.close()


def _settle_heap() -> None:
    """Move everything loaded at start-up out of the garbage collector's way.

    A long-running process otherwise rescans all module objects at every full
    collection; measured here as pauses of up to ~0.3 s while many agents run.
    """
    gc.collect()
    gc.freeze()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the long-lived process's event loop: uvloop where it is installed.

    uvicorn's ``standard`` extra brings uvloop on Linux and macOS; its sockets and the
    hand-overs from the database driver's threads cost a fraction of asyncio's own
    (bench/webhooks.py). Elsewhere the standard loop does the same work.
    """
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve this process's Prometheus /metrics on this port "
            "(ORCHESTRATE_WORKER_METRICS_PORT)."
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(help="Address of --metrics-port (ORCHESTRATE_WORKER_METRICS_HOST)."),
    ] = None,
) -> None:
    """Run only the worker loops (more machines against one PostgreSQL database)."""
    overrides: dict[str, object] = {}
    if metrics_port is not None:
        overrides["worker_metrics_port"] = metrics_port
    if metrics_host is not None:
        overrides["worker_metrics_host"] = metrics_host
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing()
    check_sandbox(settings)
    exposition = None
    if settings.worker_metrics_port is not None:  # a busy port fails before any work
        exposition = serve_process_metrics(
            settings.worker_metrics_host, settings.worker_metrics_port
        )
    try:
        upgrade_to_head(settings.database_url_value)
        run_loop(_work(settings))
    finally:
        if exposition is not None:
            exposition.close()


async def _work(settings: Settings) -> None:
    runtime = Runtime.open(settings)
    registry = build_registry(runtime)
    _settle_heap()  # after the line above: every job handler is imported by now
    await open_capabilities(runtime)
    stop = asyncio.Event()
    install_stop_signals(stop)
    background = start_background(runtime, stop)
    say(
        "Orchestrate worker started; Ctrl+C stops it (running jobs get a short grace, "
        "then go back to the queue)."
    )
    try:
        await run_worker(runtime, stop, registry)
    finally:
        stop.set()
        await asyncio.gather(*background)
        with contextlib.suppress(Exception):
            await runtime.close()
