"""End to end: the event stream of `orchestrate serve` carries what any process writes."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import (
    ORCHESTRATE,
    Background,
    Server,
    cli,
    create_token,
    engine_env,
    free_port,
    sse,
)

pytestmark = pytest.mark.slow

STEPS = """\
name: three
steps:
  - id: one
    run: echo one
  - id: two
    needs: one
    run: echo two
  - id: three
    needs: two
    run: echo three
"""


def start_serve(env: dict[str, str], *args: str) -> tuple[Server, str]:
    server = Server(env, free_port(), args=args)
    return server, server.url


def token(env: dict[str, str], role: str = "operator") -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(env, f'e2e-{role}', role)}"}


@pytest.fixture
def env(engine_name: str, empty_db_url: str, tmp_path: Path) -> dict[str, str]:
    return engine_env(tmp_path / "home", engine_name, empty_db_url, LOG_LEVEL="warning")


def test_a_run_driven_by_a_separate_worker_streams_to_serve_within_a_second(
    env: dict[str, str],
) -> None:
    server, url = start_serve(env, "--no-worker")
    worker = Background(env, "worker")
    try:
        headers = token(env)
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            created = http.post(
                "/api/pipelines", content=STEPS, headers={"Content-Type": "application/yaml"}
            )
            assert created.status_code == 201, created.text
            received: list[tuple[dict[str, Any], float]] = []
            with http.stream("GET", "/api/events/stream", params={"type": "pipeline.*"}) as stream:
                lines = stream.iter_lines()
                assert next(lines).startswith("retry:")  # the stream is open: start the run
                run_id = http.post("/api/pipelines/three/trigger").json()["id"]
                for event in sse(lines):
                    received.append((event, time.time()))
                    if event["event"] in ("pipeline.run.success", "pipeline.run.failure"):
                        break
    finally:
        code, _, worker_errors = worker.stop()
        server.stop()
    assert code == 0, worker_errors

    types = [event["event"] for event, _ in received]
    assert types[0] == "pipeline.run.queued"
    assert types[-1] == "pipeline.run.success"
    assert [t for t in types if t == "pipeline.step.success"] == ["pipeline.step.success"] * 3
    assert {event["data"]["subject"] for event, _ in received} == {run_id}
    assert [int(event["id"]) for event, _ in received] == [e["data"]["id"] for e, _ in received]
    written_by_worker = [
        (event, at) for event, at in received if event["event"] == "pipeline.step.success"
    ]
    for event, at in written_by_worker:
        committed = datetime.fromisoformat(event["data"]["created_at"]).timestamp()
        assert at - committed < 1.0, f"{event['event']} arrived {at - committed:.2f}s late"


def test_a_client_reconnecting_with_last_event_id_misses_nothing_and_sees_nothing_twice(
    env: dict[str, str],
) -> None:
    server, url = start_serve(env)
    created: list[str] = []
    try:
        headers = token(env)

        def write(prefix: str) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                for n in range(25):
                    answer = http.post("/api/stories", json={"title": f"{prefix} {n}"})
                    assert answer.status_code == 201, answer.text
                    created.append(answer.json()["id"])

        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            first = http.post("/api/stories", json={"title": "before the stream"})
            start = str(first.json()["id"])
            last_id = http.get("/api/events", params={"type": "story.created"}).json()["items"]
            cursor = str(last_id[-1]["id"])
            writers = [threading.Thread(target=write, args=(p,)) for p in ("a", "b", "c")]
            for thread in writers:
                thread.start()
            seen: list[str] = []
            while len(seen) < 75:
                with http.stream(
                    "GET",
                    "/api/events/stream",
                    params={"type": "story.created"},
                    headers={"Last-Event-ID": cursor},
                ) as stream:
                    for count, event in enumerate(sse(stream.iter_lines()), start=1):
                        seen.append(event["data"]["subject"])
                        cursor = event["id"]
                        if count == 7 or len(seen) == 75:
                            break  # drop the connection mid-stream, as a flaky network does
            for thread in writers:
                thread.join()
    finally:
        server.stop()

    assert start not in seen
    assert len(seen) == len(set(seen)) == 75
    assert set(seen) == set(created)


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_events_tail_follows_new_events_and_ctrl_c_exits_0(env: dict[str, str]) -> None:
    assert cli(env, "story", "create", "--title", "Before").returncode == 0
    tail = subprocess.Popen(
        [*ORCHESTRATE, "events", "tail", "--follow", "--json", "--type", "story.*"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl+C as at a terminal: a suite started in the background by a shell without
        # job control inherits SIGINT ignored, and Python then keeps ignoring it.
        preexec_fn=_interruptible,
    )
    try:
        assert tail.stdout is not None
        before = json.loads(tail.stdout.readline())
        assert before["type"] == "story.created"
        assert before["payload"]["title"] == "Before"
        assert cli(env, "story", "create", "--title", "After").returncode == 0
        after = json.loads(tail.stdout.readline())
        assert (after["type"], after["payload"]["title"]) == ("story.created", "After")
        assert after["id"] > before["id"]
    finally:
        tail.send_signal(signal.SIGINT)
        _, errors = tail.communicate(timeout=30)
    assert tail.returncode == 0, errors
    assert "Traceback" not in errors


def test_events_tail_refuses_a_bad_type_filter_with_one_clear_line(env: dict[str, str]) -> None:
    result = cli(env, "events", "tail", "--type", "Pipeline*")
    assert result.returncode == 2
    assert "Invalid event type filter 'Pipeline*'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_open_stream_ends_cleanly_when_serve_stops(env: dict[str, str]) -> None:
    server, url = start_serve(env)
    try:
        headers = token(env, "viewer")
        with (
            httpx.Client(base_url=url, headers=headers, timeout=30) as http,
            http.stream("GET", "/api/events/stream") as stream,
        ):
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            server.process.send_signal(signal.SIGTERM)
            rest = list(lines)  # ends (no error) once serve closes the stream
    finally:
        code, _, errors = server.stop()
    assert all(line == "" or line.startswith(":") for line in rest)
    assert code == 0, errors
