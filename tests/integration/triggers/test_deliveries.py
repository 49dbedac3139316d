"""Stored deliveries: each processed exactly once, and inspected or redone via API and CLI."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select, update

from orchestrate.app.worker import build_registry
from orchestrate.auth import service as auth
from orchestrate.auth.models import Role
from orchestrate.core.events import EventRow
from orchestrate.core.jobs import JobRunner, JobStatus
from orchestrate.core.jobs.admin import list_jobs
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.triggers import service
from orchestrate.triggers.inbox import DeliveryInbox
from orchestrate.triggers.tables import WebhookDeliveryRow
from tests.integration.cli.support import Cli, make_cli
from tests.integration.triggers.test_receiver import (
    PAYLOADS,
    SECRET,
    body_of,
    deliver,
    github_headers,
)
from tests.support import bearer

PUSH_PIPELINE = """\
name: on-push
on:
  github:
    - event: push
      repositories: [Codertocat/Hello-World]
      branches: [main]
steps:
  - id: greet
    run: echo hi
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        github_webhook_secret=SECRET,
    )


async def work(runtime: Runtime, timeout: float = 120.0) -> None:
    """What a worker does: run jobs until none is due (``until_idle`` may stop early)."""
    async with asyncio.timeout(timeout):
        while True:
            await JobRunner(runtime, build_registry(runtime)).run(until_idle=True)
            async with runtime.uow(read_only=True) as uow:
                page = await list_jobs(uow, status=JobStatus.QUEUED, limit=500)
            if not any(job.run_at <= runtime.clock.now() for job in page.items):
                return


def push(number: int) -> bytes:
    return body_of(
        {"ref": "refs/heads/main", "number": number, "repository": {"full_name": "octo/hello"}}
    )


async def rows(runtime: Runtime) -> list[WebhookDeliveryRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(WebhookDeliveryRow)))


async def count(runtime: Runtime, query: Any) -> int:
    async with runtime.uow(read_only=True) as uow:
        return int(await uow.session.scalar(query) or 0)


async def test_a_thousand_deliveries_store_and_process_each_valid_unique_one_exactly_once(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    rng = random.Random(5)
    valid = [(f"valid-{n}", push(n)) for n in range(850)]
    repeats = [rng.choice(valid) for _ in range(100)]  # 10 %: GitHub redelivering
    forged = [(f"forged-{n}", push(n)) for n in range(25)]
    forged += [(rng.choice(valid)[0], push(-1)) for _ in range(25)]  # a valid id, wrong body
    requests = [(key, body, SECRET) for key, body in valid + repeats]
    requests += [(key, body, "guessed") for key, body in forged]  # 5 %
    rng.shuffle(requests)
    assert len(requests) == 1000

    statuses: Counter[tuple[int, str]] = Counter()
    for start in range(0, len(requests), 25):
        batch = requests[start : start + 25]
        responses = await asyncio.gather(
            *(deliver(api, body, delivery_id=key, secret=secret) for key, body, secret in batch)
        )
        for response in responses:
            outcome = response.json().get("status") if response.status_code == 202 else ""
            statuses[(response.status_code, str(outcome))] += 1
    await work(runtime)

    assert statuses == {(202, "accepted"): 850, (202, "duplicate"): 100, (401, ""): 50}
    stored = await rows(runtime)
    assert sorted(row.delivery_id for row in stored) == sorted(key for key, _ in valid)
    by_id = dict(valid)
    assert all(row.body.encode() == by_id[row.delivery_id] for row in stored)
    assert {(row.status, row.attempts) for row in stored} == {("processed", 1)}
    processed = select(func.count(func.distinct(EventRow.subject))).where(
        EventRow.type == "webhook.delivery.processed"
    )
    all_processed = select(func.count()).where(EventRow.type == "webhook.delivery.processed")
    unfinished_or_alone = select(func.count()).where(
        (JobRow.status != "succeeded") | (JobRow.kind == service.PROCESS_DELIVERY.name)
    )
    assert await count(runtime, processed) == 850
    assert await count(runtime, all_processed) == 850
    assert await count(runtime, unfinished_or_alone) == 0  # every batch job did its part


async def test_processing_records_which_pipelines_the_delivery_matches(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    from orchestrate.pipelines import service as pipelines

    actor = auth.Actor(name="test", role=Role.ADMIN, source="test")
    await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(PUSH_PIPELINE), actor)
    body = (PAYLOADS / "push/payload.json").read_bytes()
    ref = json.loads(body)["ref"]

    response = await deliver(api, body, "push")
    await work(runtime)

    [row] = await rows(runtime)
    assert row.status == "processed"
    assert row.result is not None
    [verdict] = row.result["pipelines"]
    assert verdict["pipeline"] == "on-push"
    assert verdict["matched"] is (ref == "refs/heads/main")
    assert verdict["reasons"]
    assert response.json()["id"] == row.id


MATCHING_PIPELINE = """\
name: on-master
on:
  github:
    - event: push
      repositories: [Codertocat/Hello-World]
      branches: [master]
steps:
  - id: greet
    run: echo "ref=${{ trigger.ref }}" >> "$ORCHESTRATE_OUTPUT"
"""

NEEDY_PIPELINE = """\
name: needs-input
inputs:
  version: {required: true}
on:
  github:
    - event: push
      repositories: [Codertocat/Hello-World]
steps:
  - id: greet
    run: echo hi
"""


async def test_a_matching_delivery_starts_one_run_with_the_payload_as_trigger(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    from orchestrate.pipelines import service as pipelines

    actor = auth.Actor(name="test", role=Role.ADMIN, source="test")
    for text in (MATCHING_PIPELINE, NEEDY_PIPELINE, PUSH_PIPELINE):
        await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(text), actor)
    body = (PAYLOADS / "push/with-new-branch.payload.json").read_bytes()
    assert json.loads(body)["ref"] == "refs/heads/master"

    await deliver(api, body, "push")
    await deliver(api, body, "push")  # a second delivery (new id) of the same payload
    await work(runtime)

    runs = (await pipelines.list_runs(runtime.uow(read_only=True), pipeline="on-master")).items
    assert len(runs) == 2
    run = await pipelines.get_run(runtime.uow(read_only=True), runs[0].id)
    assert (run.status.value, run.trigger_kind.value) == ("success", "webhook")
    assert run.step("greet").outputs == {"ref": "refs/heads/master"}
    first = (await rows(runtime))[0]
    assert first.result is not None
    started = {item["pipeline"]: item for item in first.result["runs"]}
    assert set(started) == {"on-master", "needs-input"}
    assert "run_id" in started["on-master"]
    assert "needs the input 'version'" in started["needs-input"]["error"]
    assert (await pipelines.list_runs(runtime.uow(), pipeline="on-push")).items == []


async def test_a_delivery_that_keeps_failing_ends_failed_with_its_error_after_the_retries(
    frozen_runtime: Runtime,
) -> None:
    runtime = frozen_runtime
    body = push(1)
    result = await service.receive_delivery(
        DeliveryInbox(runtime.uow), runtime.settings, github_headers(body), body
    )
    async with runtime.uow() as uow:  # a body that no longer parses makes processing fail
        await uow.session.execute(update(WebhookDeliveryRow).values(body="{broken"))
        await uow.commit()

    await work(runtime)
    [first] = await rows(runtime)
    for _ in range(10):
        runtime.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        await work(runtime)
    [last] = await rows(runtime)

    assert (first.status, first.attempts) == ("processing", 1)
    assert "JSONDecodeError" in (first.last_error or "")
    assert last.status == "failed"
    assert last.attempts == 5  # the job queue's default attempts
    assert "JSONDecodeError" in (last.last_error or "")
    dead = select(func.count()).where(
        JobRow.kind == service.PROCESS_DELIVERY.name, JobRow.status == "dead"
    )
    assert await count(runtime, dead) == 1
    assert result.id == last.id


class TestApi:
    async def test_deliveries_are_listed_newest_first_in_pages(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        for number in range(5):
            await deliver(api, push(number), delivery_id=f"d-{number}")

        first = await api.get(
            "/api/webhooks/deliveries", params={"limit": 3}, headers=bearer(tokens[Role.VIEWER])
        )
        second = await api.get(
            "/api/webhooks/deliveries",
            params={"limit": 3, "cursor": first.json()["next_cursor"]},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert first.status_code == 200
        ids = [d["delivery_id"] for d in first.json()["items"] + second.json()["items"]]
        assert ids == ["d-4", "d-3", "d-2", "d-1", "d-0"]
        assert second.json()["next_cursor"] is None
        assert "body" not in first.json()["items"][0]

    async def test_deliveries_can_be_filtered_by_event_and_status(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        await deliver(api, push(1), "push", delivery_id="p")
        await deliver(api, body_of({"action": "opened"}), "issues", delivery_id="i")
        await work(runtime)
        await deliver(api, push(2), "push", delivery_id="q")
        headers = bearer(tokens[Role.VIEWER])

        issues = await api.get("/api/webhooks/deliveries?event=issues", headers=headers)
        received = await api.get("/api/webhooks/deliveries?status=received", headers=headers)
        bad = await api.get("/api/webhooks/deliveries?status=lost", headers=headers)

        assert [d["delivery_id"] for d in issues.json()["items"]] == ["i"]
        assert [d["delivery_id"] for d in received.json()["items"]] == ["q"]
        assert bad.status_code == 422

    async def test_a_delivery_is_shown_by_its_id_or_github_delivery_id(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        accepted = await deliver(api, push(7), delivery_id="gh-7")
        headers = bearer(tokens[Role.VIEWER])

        by_id = await api.get(f"/api/webhooks/deliveries/{accepted.json()['id']}", headers=headers)
        by_github = await api.get("/api/webhooks/deliveries/gh-7", headers=headers)
        missing = await api.get("/api/webhooks/deliveries/nope", headers=headers)

        assert by_id.status_code == 200
        assert by_id.json() == by_github.json()
        assert by_id.json()["payload"]["number"] == 7
        assert by_id.json()["headers"]["x-github-event"] == "push"
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

    async def test_the_delivery_routes_need_a_token(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/webhooks/deliveries")

        assert response.status_code == 401

    async def test_redeliver_processes_a_delivery_again_and_is_audited(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        accepted = await deliver(api, push(1), delivery_id="again")
        await work(runtime)
        path = f"/api/webhooks/deliveries/{accepted.json()['id']}/redeliver"

        response = await api.post(path, headers=bearer(tokens[Role.OPERATOR]))
        waiting = (await rows(runtime))[0]
        await work(runtime)

        assert response.status_code == 202
        assert response.json()["delivery"]["status"] == "received"
        assert response.json()["job_id"].startswith("job_")
        assert waiting.status == "received"
        [row] = await rows(runtime)
        assert (row.status, row.attempts) == ("processed", 2)
        audit = await auth.list_audit(runtime.uow(read_only=True), action="webhook.redeliver")
        assert [record.subject for record in audit.items] == [row.id]

    async def test_redelivering_a_delivery_not_yet_processed_is_a_conflict(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        accepted = await deliver(api, push(1))
        path = f"/api/webhooks/deliveries/{accepted.json()['id']}/redeliver"

        response = await api.post(path, headers=bearer(tokens[Role.OPERATOR]))

        assert response.status_code == 409
        assert "received" in response.json()["detail"]

    async def test_a_viewer_may_not_redeliver(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        accepted = await deliver(api, push(1))
        await work(runtime)
        path = f"/api/webhooks/deliveries/{accepted.json()['id']}/redeliver"

        response = await api.post(path, headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 403


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def cli_json(cli: Cli, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


T = TypeVar("T")


def in_runtime(settings: Settings, work_with: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``work_with`` on a runtime of its own (CLI tests are not async)."""

    async def main() -> T:
        runtime = Runtime.open(settings)
        try:
            return await work_with(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


def receive(settings: Settings, body: bytes, event: str = "push", delivery_id: str = "") -> None:
    headers = github_headers(body, event, delivery_id=delivery_id or None)
    in_runtime(
        settings,
        lambda rt: service.receive_delivery(DeliveryInbox(rt.uow), rt.settings, headers, body),
    )


class TestCli:
    def test_list_and_show_print_stored_deliveries(self, settings: Settings, cli: Cli) -> None:
        receive(settings, push(1), "push", "p-1")
        receive(settings, body_of({"action": "opened"}), "issues", "i-1")

        listed = cli_json(cli, "webhook", "list")
        issues = cli_json(cli, "webhook", "list", "--event", "issues")
        shown = cli_json(cli, "webhook", "show", "p-1")
        table = cli("webhook", "list")

        assert [d["delivery_id"] for d in listed] == ["i-1", "p-1"]
        assert [d["delivery_id"] for d in issues] == ["i-1"]
        assert shown["payload"]["number"] == 1
        assert table.exit_code == 0
        assert "p-1" in table.stdout
        assert "issues" in table.stdout

    def test_list_filters_by_status(self, settings: Settings, cli: Cli) -> None:
        receive(settings, push(1), delivery_id="done")
        in_runtime(settings, work)
        receive(settings, push(2), delivery_id="waiting")

        processed = cli_json(cli, "webhook", "list", "--status", "processed")

        assert [d["delivery_id"] for d in processed] == ["done"]

    def test_show_of_an_unknown_delivery_exits_1(self, cli: Cli) -> None:
        result = cli("webhook", "show", "nope")

        assert result.exit_code == 1
        assert "No webhook delivery" in result.stderr

    def test_redeliver_with_wait_processes_it_again_here(
        self, settings: Settings, cli: Cli
    ) -> None:
        receive(settings, push(1), delivery_id="again")
        in_runtime(settings, work)

        result = cli("webhook", "redeliver", "again", "--wait")

        assert result.exit_code == 0, result.stderr
        [row] = in_runtime(settings, rows)
        assert (row.status, row.attempts) == ("processed", 2)

    def test_redeliver_without_wait_leaves_it_to_a_worker(
        self, settings: Settings, cli: Cli
    ) -> None:
        receive(settings, push(1), delivery_id="again")
        in_runtime(settings, work)

        result = cli("webhook", "redeliver", "again")
        [queued] = in_runtime(settings, rows)
        in_runtime(settings, work)
        [row] = in_runtime(settings, rows)

        assert result.exit_code == 0, result.stderr
        assert queued.status == "received"
        assert (row.status, row.attempts) == ("processed", 2)

    def test_replay_feeds_a_payload_file_and_processes_it(
        self, settings: Settings, cli: Cli
    ) -> None:
        file = PAYLOADS / "issues/opened.payload.json"

        shown = cli_json(cli, "webhook", "replay", str(file), "--event", "issues")

        assert shown["delivery_id"].startswith("replay-")
        uuid.UUID(shown["delivery_id"].removeprefix("replay-"))
        assert (shown["event"], shown["action"]) == ("issues", "opened")
        assert shown["status"] == "processed"
        assert shown["payload"] == json.loads(file.read_bytes())
        [row] = in_runtime(settings, rows)
        assert row.body == file.read_text()

    def test_replay_of_a_file_that_is_not_json_exits_2_and_stores_nothing(
        self, settings: Settings, cli: Cli
    ) -> None:
        file = cli.workdir / "notes.txt"
        file.write_text("not json")

        result = cli("webhook", "replay", str(file), "--event", "push")

        assert result.exit_code == 2
        assert "not JSON" in result.stderr
        assert in_runtime(settings, rows) == []
