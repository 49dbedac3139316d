"""``orchestrate schedule …`` in process and ``/api/schedules`` over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from tests.integration.cli.support import Cli, make_cli
from tests.integration.pipelines.conftest import pipeline_yaml
from tests.support import bearer

Tokens = dict[Role, str]
Json = dict[str, Any]


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


@pytest.fixture
def registered(cli: Cli) -> Cli:
    """The CLI, with the pipeline ``hello`` registered."""
    path = cli.workdir / "hello.yml"
    path.write_text(pipeline_yaml("hello"))
    assert cli("pipeline", "create", str(path)).exit_code == 0
    return cli


def cli_json(cli: Cli, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class TestCli:
    def test_create_then_list_and_show_the_next_fire_times(self, registered: Cli) -> None:
        cli = registered
        created = cli(
            "schedule", "create", "nightly", "--cron", "0 2 * * *",
            "--timezone", "Europe/Berlin", "--pipeline", "hello", "--input", "who=world",
        )  # fmt: skip
        assert created.exit_code == 0, created.output
        [listed] = cli_json(cli, "schedule", "list")
        assert listed["name"] == "nightly"
        assert listed["next_fire_at"] is not None
        shown = cli("schedule", "show", "nightly")
        assert shown.exit_code == 0
        assert "02:00 CET" in shown.stdout
        assert len(cli_json(cli, "schedule", "show", "nightly")["upcoming"]) == 5

    def test_invalid_cron_exits_2_with_the_reason(self, registered: Cli) -> None:
        result = registered("schedule", "create", "x", "--cron", "* * *", "--pipeline", "hello")
        assert result.exit_code == 2
        assert "it has 3 fields, expected five" in result.output

    def test_template_pause_resume_trigger_runs_and_delete(self, registered: Cli) -> None:
        cli = registered
        made = cli("schedule", "create", "h", "--template", "hourly", "--pipeline", "hello")
        assert made.exit_code == 0, made.output
        assert cli_json(cli, "schedule", "show", "h")["cron"] == "0 * * * *"
        assert cli("schedule", "pause", "h").exit_code == 0
        assert cli_json(cli, "schedule", "show", "h")["paused"] is True
        assert cli("schedule", "resume", "h").exit_code == 0
        fire = cli_json(cli, "schedule", "trigger", "h")
        assert fire["manual"] is True
        assert fire["run_id"].startswith("prun_")
        [listed] = cli_json(cli, "schedule", "runs", "h")
        assert listed["id"] == fire["id"]
        assert cli("schedule", "delete", "h").exit_code == 0
        assert cli("schedule", "show", "h").exit_code == 1

    def test_unknown_schedule_is_reported(self, registered: Cli) -> None:
        result = registered("schedule", "pause", "nope")
        assert result.exit_code == 1
        assert "No schedule 'nope'" in result.output


async def register_pipeline(api: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await api.post(
        "/api/pipelines", json={"yaml": pipeline_yaml("hello")}, headers=bearer(tokens[Role.ADMIN])
    )
    assert response.status_code == 201, response.text


async def post_schedule(api: httpx.AsyncClient, tokens: Tokens, **body: Any) -> httpx.Response:
    document = {"name": "nightly", "cron": "0 2 * * *", "pipeline": "hello", **body}
    return await api.post("/api/schedules", json=document, headers=bearer(tokens[Role.OPERATOR]))


class TestApi:
    async def test_create_get_update_and_delete(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register_pipeline(api, tokens)
        created = await post_schedule(api, tokens)
        assert created.status_code == 201, created.text
        schedule_id = created.json()["id"]
        auth = bearer(tokens[Role.VIEWER])
        shown = await api.get(f"/api/schedules/{schedule_id}", headers=auth)
        assert shown.json()["name"] == "nightly"
        assert len(shown.json()["upcoming"]) == 5
        listed = await api.get("/api/schedules", headers=auth)
        assert [s["name"] for s in listed.json()["items"]] == ["nightly"]
        operator = bearer(tokens[Role.OPERATOR])
        document = {"name": "nightly", "cron": "30 4 * * *", "pipeline": "hello"}
        updated = await api.put("/api/schedules/nightly", json=document, headers=operator)
        assert updated.json()["cron"] == "30 4 * * *"
        deleted = await api.delete("/api/schedules/nightly", headers=operator)
        assert deleted.status_code == 204
        gone = await api.get("/api/schedules/nightly", headers=auth)
        assert gone.status_code == 404

    async def test_bad_cron_is_422_and_a_taken_name_409(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register_pipeline(api, tokens)
        bad = await post_schedule(api, tokens, cron="0 25 * * *")
        assert bad.status_code == 422
        assert "hour 25 is out of range" in bad.json()["detail"]
        assert (await post_schedule(api, tokens)).status_code == 201
        assert (await post_schedule(api, tokens)).status_code == 409

    async def test_trigger_pause_resume_and_runs(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register_pipeline(api, tokens)
        await post_schedule(api, tokens)
        operator = bearer(tokens[Role.OPERATOR])
        paused = await api.post("/api/schedules/nightly/pause", headers=operator)
        assert paused.json()["paused"] is True
        assert paused.json()["next_fire_at"] is None
        resumed = await api.post("/api/schedules/nightly/resume", headers=operator)
        assert resumed.json()["paused"] is False
        fired = await api.post("/api/schedules/nightly/trigger", headers=operator)
        assert fired.status_code == 200, fired.text
        assert fired.json()["outcome"] == "started"
        runs = await api.get("/api/schedules/nightly/runs", headers=operator)
        assert [f["id"] for f in runs.json()["items"]] == [fired.json()["id"]]

    async def test_viewer_may_not_create(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        await register_pipeline(api, tokens)
        document = {"name": "x", "cron": "@daily", "pipeline": "hello"}
        response = await api.post(
            "/api/schedules", json=document, headers=bearer(tokens[Role.VIEWER])
        )
        assert response.status_code == 403

    async def test_no_token_is_401(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/schedules")).status_code == 401
