"""Prefect's side of bench/peers/flow.py, run by Prefect's own venv's python.

    python _prefect_driver.py measure --database-url postgresql+asyncpg://…/fresh
        --samples 30 [--step python|shell]

starts a Prefect server (``prefect server start``, no UI, analytics off) on a free
loopback port with a fresh home and the database it is given (empty: the server
migrates it; without ``--database-url`` its own SQLite file), then times the 3-task flow
of _prefect_flow.py one run at a time on the idle server, two ways:

- ``deployment``: ``run_deployment(…, timeout=0)`` creates a run that a runner started
  with ``flow.serve()`` (this script again, ``serve``) picks up and executes in a
  process of its own, as Prefect runs deployments. This is the twin of ours: a
  trigger recorded in the database, a long-running worker process that takes it.
  ``PREFECT_RUNNER_POLL_FREQUENCY=1``: the runner polls the server every second (the
  setting is whole seconds; 1 is the shortest, the default is 10).
- ``call``: the flow called in this already warm process, talking to the same server —
  no queue and no worker in between, so its fastest path.

Each figure is the run's stored ``end_time - created``, as ours is its stored
``finished_at - created_at``; 50 ms pass between runs, as in bench/pipelines.py. Prints
one JSON line: deployment_p50_ms, deployment_p99_ms, call_p50_ms, call_p99_ms.

Nothing reaches the network: every Prefect Cloud setting is removed from the environment,
server analytics and client telemetry are off, the API URL is the loopback server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _latency import percentile

HERE = Path(__file__).resolve().parent
DEPLOYMENT = "chain3/bench"


def prefect_environment(home: Path, port: int, database_url: str | None) -> dict[str, str]:
    """The environment of the server, the runner and this process: local and quiet."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_CLOUD_", "PREFECT_API_", "PREFECT_PROFILE"))
    }
    environment |= {
        "PREFECT_HOME": str(home),
        "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url
        or f"sqlite+aiosqlite:///{home}/prefect.db",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    return environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen([*command, "--no-ui", "--analytics-off"], stdout=log, stderr=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited: {(home / 'server.log').read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("prefect server did not answer within 180 s")


def start_runner() -> subprocess.Popen[bytes]:
    """``flow.serve()`` in a process of its own (this script's ``serve``)."""
    return subprocess.Popen([sys.executable, __file__, "serve"], cwd=HERE)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def duration_ms(run: Any) -> float:
    assert run.state.is_completed(), run.state
    return float((run.end_time - run.created).total_seconds() * 1000)


async def called(client: Any, samples: int) -> list[float]:
    from _prefect_flow import chain3

    durations = []
    for _ in range(samples):
        state = await chain3(return_state=True)
        run = await client.read_flow_run(state.state_details.flow_run_id)
        durations.append(duration_ms(run))
        await asyncio.sleep(0.05)
    return durations


async def deployed(client: Any, samples: int) -> list[float]:
    from prefect.deployments import run_deployment

    runner = await asyncio.to_thread(start_runner)
    try:
        await wait_for_deployment(client)
        durations = []
        for _ in range(samples):
            run = await run_deployment(DEPLOYMENT, timeout=0)
            while not (run := await client.read_flow_run(run.id)).state.is_final():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            durations.append(duration_ms(run))
            await asyncio.sleep(0.05)
        return durations
    finally:
        await asyncio.to_thread(stop, runner)


async def wait_for_deployment(client: Any) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            await client.read_deployment_by_name(DEPLOYMENT)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # the runner's first poll


async def measure_flows(samples: int) -> dict[str, float]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        call = await called(client, samples)
        deployment = await deployed(client, samples)
    return {
        "deployment_p50_ms": percentile(deployment, 50),
        "deployment_p99_ms": percentile(deployment, 99),
        "call_p50_ms": percentile(call, 50),
        "call_p99_ms": percentile(call, 99),
    }


def measure(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        home, port = Path(directory), free_port()
        os.environ.clear()
        os.environ.update(prefect_environment(home, port, args.database_url))
        os.environ["BENCH_PREFECT_STEP"] = args.step
        server = start_server(home, port)
        try:
            return asyncio.run(measure_flows(args.samples))
        finally:
            stop(server)


def serve() -> None:
    from _prefect_flow import chain3

    chain3.serve(name="bench", print_starting_message=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["measure", "serve"])
    parser.add_argument("--database-url", default=None, help="default: SQLite in its home")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--step", choices=["python", "shell"], default="python")
    args = parser.parse_args()
    if args.command == "serve":
        serve()
    else:
        print(json.dumps(measure(args)))


if __name__ == "__main__":
    main()
