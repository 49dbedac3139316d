"""``POST /webhooks/gitlab``: tokens, refusals, dedupe, routing, and the delivery tools."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from orchestrate.auth import service as auth
from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service as pipelines
from orchestrate.stories import service as stories
from orchestrate.triggers.tables import WebhookDeliveryRow
from tests.integration.cli.support import Cli, make_cli
from tests.integration.triggers.test_deliveries import work
from tests.integration.triggers.test_receiver import assert_problem
from tests.support import GITLAB_WEBHOOKS, bearer

TOKEN = "gl-webhook-token"
URL = "/webhooks/gitlab"
MERGE_REQUEST = (GITLAB_WEBHOOKS / "merge_request.open.json").read_bytes()

MR_PIPELINE = """\
name: on-mr
on:
  gitlab:
    - event: merge_request
      actions: [opened]
      repositories: [gitlabhq/gitlab-test]
      branches: [master]
steps:
  - id: greet
    run: echo "branch=${{ trigger.object_attributes.source_branch }}" >> "$ORCHESTRATE_OUTPUT"
"""

GITHUB_ONLY = """\
name: github-only
on:
  github:
    - event: merge_request
      repositories: [gitlabhq/gitlab-test]
steps:
  - id: greet
    run: echo hi
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        gitlab_webhook_secret=SecretStr(TOKEN),
        gitlab_trusted_users=["root"],
    )


def gitlab_headers(
    event: str = "Merge Request Hook",
    *,
    token: str | None = TOKEN,
    key: str | None = None,
) -> dict[str, str]:
    """The headers GitLab sends with a delivery (with the token unless it is None)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "Idempotency-Key": key or str(uuid.uuid4()),
    }
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return headers


async def deliver(
    api: httpx.AsyncClient,
    body: bytes = MERGE_REQUEST,
    event: str = "Merge Request Hook",
    **kw: Any,
) -> httpx.Response:
    return await api.post(URL, content=body, headers=gitlab_headers(event, **kw))


async def stored(runtime: Runtime) -> list[WebhookDeliveryRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(
            await uow.session.scalars(
                select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.received_at)
            )
        )


class TestTokens:
    async def test_a_delivery_with_the_token_is_stored_as_gitlab_s(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        response = await deliver(api, key="key-1")

        assert response.status_code == 202, response.text
        assert response.json()["status"] == "accepted"
        [row] = await stored(runtime)
        assert (row.forge, row.delivery_id, row.event, row.action) == (
            "gitlab",
            "key-1",
            "merge_request",
            "opened",
        )
        assert row.repository == "gitlabhq/gitlab-test"
        assert row.body == MERGE_REQUEST.decode()

    async def test_the_token_is_not_stored_with_the_headers(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        await deliver(api)

        [row] = await stored(runtime)
        names = {name.lower() for name in row.headers}
        assert "x-gitlab-token" not in names
        assert TOKEN not in json.dumps(row.headers)
        assert "x-gitlab-event-uuid" in names

    async def test_a_wrong_token_is_refused_and_nothing_stored(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        problem = assert_problem(await deliver(api, token="guess"), 401)

        assert "ORCHESTRATE_GITLAB_WEBHOOK_SECRET" in problem["detail"]
        assert await stored(runtime) == []

    async def test_a_missing_token_is_refused(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        assert_problem(await deliver(api, token=None), 401)
        assert await stored(runtime) == []

    async def test_while_rotating_the_old_and_the_new_token_are_accepted(
        self, runtime: Runtime, api: httpx.AsyncClient
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"gitlab_webhook_secret": SecretStr(f"old-token, {TOKEN}")}
        )

        old = await deliver(api, token="old-token")
        new = await deliver(api, token=TOKEN)
        other = await deliver(api, token="older-token")

        assert (old.status_code, new.status_code) == (202, 202)
        assert_problem(other, 401)

    async def test_without_a_secret_every_delivery_is_refused(
        self, runtime: Runtime, api: httpx.AsyncClient
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"gitlab_webhook_secret": None})

        problem = assert_problem(await deliver(api), 401)

        assert "ORCHESTRATE_GITLAB_WEBHOOK_INSECURE" in problem["detail"]

    async def test_insecure_mode_accepts_deliveries_without_a_token(
        self, runtime: Runtime, api: httpx.AsyncClient
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"gitlab_webhook_secret": None, "gitlab_webhook_insecure": True}
        )

        assert (await deliver(api, token=None)).status_code == 202

    async def test_a_github_secret_does_not_open_the_gitlab_receiver(
        self, runtime: Runtime, api: httpx.AsyncClient
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"gitlab_webhook_secret": None, "github_webhook_secret": SecretStr(TOKEN)}
        )

        assert_problem(await deliver(api), 401)


class TestRefusals:
    async def test_a_missing_event_header_is_a_400(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        headers = gitlab_headers()
        del headers["X-Gitlab-Event"]

        response = await api.post(URL, content=MERGE_REQUEST, headers=headers)

        assert_problem(response, 400)
        assert await stored(runtime) == []

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
    async def test_a_body_that_is_not_a_json_object_is_a_400(
        self, api: httpx.AsyncClient, runtime: Runtime, body: bytes
    ) -> None:
        assert_problem(await deliver(api, body), 400)
        assert await stored(runtime) == []

    async def test_a_body_over_the_limit_is_a_413(
        self, runtime: Runtime, api: httpx.AsyncClient
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"webhook_max_body_bytes": 2048})
        body = b'{"a": "' + b"x" * 4096 + b'"}'

        assert_problem(await deliver(api, body), 413)
        assert await stored(runtime) == []


class TestDuplicates:
    async def test_a_retry_with_the_same_idempotency_key_is_processed_once(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        first = await deliver(api, key="same")
        again = await deliver(api, key="same")

        assert first.json()["status"] == "accepted"
        assert (again.status_code, again.json()["status"]) == (202, "duplicate")
        assert len(await stored(runtime)) == 1

    async def test_without_a_key_a_byte_identical_retry_is_a_duplicate(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        headers = gitlab_headers()
        del headers["Idempotency-Key"]

        first = await api.post(URL, content=MERGE_REQUEST, headers=headers)
        again = await api.post(URL, content=MERGE_REQUEST, headers=headers)

        assert first.json()["delivery_id"].startswith("gitlab:")
        assert again.json()["status"] == "duplicate"
        assert len(await stored(runtime)) == 1


class TestProcessing:
    async def test_a_merge_request_starts_the_on_gitlab_pipeline_only(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        actor = auth.Actor(name="test", role=Role.ADMIN, source="test")
        for text in (MR_PIPELINE, GITHUB_ONLY):
            await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(text), actor)

        await deliver(api)
        await work(runtime)

        [row] = await stored(runtime)
        assert row.status == "processed"
        assert row.result is not None
        assert row.result["matched"] == ["on-mr"]
        [run] = (await pipelines.list_runs(runtime.uow(read_only=True), pipeline="on-mr")).items
        done = await pipelines.get_run(runtime.uow(read_only=True), run.id)
        assert done.status.value == "success"
        assert done.step("greet").outputs == {"branch": "ms-viewport"}
        assert (
            await pipelines.list_runs(runtime.uow(read_only=True), pipeline="github-only")
        ).items == []

    async def test_an_issue_opened_by_a_trusted_user_becomes_a_story(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        body = (GITLAB_WEBHOOKS / "issue.open.by-author.json").read_bytes()

        await deliver(api, body, "Issue Hook")
        await work(runtime)

        [row] = await stored(runtime)
        assert row.result is not None
        [story] = row.result["automations"]
        assert story["automation"] == "issue-story"
        assert "story_id" in story, story
        found = await stories.get_story(runtime.uow(read_only=True), story["story_id"])
        assert found.title == "New API: create/update/delete file"
        assert "gitlab" in found.labels

    async def test_an_issue_of_a_user_not_listed_starts_nothing(
        self, runtime: Runtime, api: httpx.AsyncClient
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"gitlab_trusted_users": []})
        body = (GITLAB_WEBHOOKS / "issue.open.by-author.json").read_bytes()

        await deliver(api, body, "Issue Hook")
        await work(runtime)

        [row] = await stored(runtime)
        assert row.result is not None
        [story] = row.result["automations"]
        assert "ORCHESTRATE_GITLAB_TRUSTED_USERS" in story["skipped"]
        assert "story_id" not in story


class TestDeliveryTools:
    async def test_the_api_lists_and_shows_gitlab_deliveries_by_forge(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        accepted = await deliver(api, key="k-1")
        headers = bearer(tokens[Role.VIEWER])

        listed = await api.get("/api/webhooks/deliveries?forge=gitlab", headers=headers)
        github = await api.get("/api/webhooks/deliveries?forge=github", headers=headers)
        shown = await api.get("/api/webhooks/deliveries/k-1", headers=headers)
        bad = await api.get("/api/webhooks/deliveries?forge=bitbucket", headers=headers)

        assert [d["id"] for d in listed.json()["items"]] == [accepted.json()["id"]]
        assert listed.json()["items"][0]["forge"] == "gitlab"
        assert github.json()["items"] == []
        assert shown.json()["payload"]["object_kind"] == "merge_request"
        assert "X-Gitlab-Token" not in shown.json()["headers"]
        assert_problem(bad, 422)

    async def test_redeliver_processes_a_gitlab_delivery_again(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        accepted = await deliver(api)
        await work(runtime)
        path = f"/api/webhooks/deliveries/{accepted.json()['id']}/redeliver"

        response = await api.post(path, headers=bearer(tokens[Role.OPERATOR]))
        await work(runtime)

        assert response.status_code == 202, response.text
        [row] = await stored(runtime)
        assert (row.status, row.attempts, row.forge) == ("processed", 2, "gitlab")

    async def test_explain_routes_a_gitlab_delivery(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        actor = auth.Actor(name="test", role=Role.ADMIN, source="test")
        await pipelines.register_pipeline(
            runtime.uow(), pipelines.PipelineSource(MR_PIPELINE), actor
        )
        accepted = await deliver(api)

        response = await api.get(
            f"/api/webhooks/deliveries/{accepted.json()['id']}/explain",
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert response.status_code == 200, response.text
        assert response.json()["matched"] == ["on-mr"]


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    yield from make_cli(db_url, tmp_path, monkeypatch)


class TestCli:
    def test_replay_of_a_gitlab_payload_is_stored_as_gitlab_s(self, cli: Cli) -> None:
        file = GITLAB_WEBHOOKS / "push.json"

        result = cli("webhook", "replay", str(file), "--event", "Push Hook", "--forge", "gitlab")
        listed = cli("webhook", "list", "--forge", "gitlab", "--json")
        table = cli("webhook", "list")

        assert result.exit_code == 0, result.stderr
        [delivery] = json.loads(listed.stdout)
        assert (delivery["forge"], delivery["event"], delivery["repository"]) == (
            "gitlab",
            "push",
            "mike/diaspora",
        )
        assert delivery["status"] == "processed"
        assert "gitlab" in table.stdout

    def test_replay_from_an_unknown_forge_exits_2(self, cli: Cli) -> None:
        file = GITLAB_WEBHOOKS / "push.json"

        result = cli("webhook", "replay", str(file), "--event", "push", "--forge", "bitbucket")

        assert result.exit_code == 2
        assert "Unknown forge" in result.stderr
