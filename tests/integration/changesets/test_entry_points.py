"""``orchestrate changeset …`` and ``/api/changesets``: create, list, show, status,
cancel; bad input is a message and an exit code, or a 4xx problem (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import Result

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.testing import FakeGitHub
from tests.integration.changesets.conftest import APP, LIB, Repositories, agents_in_both
from tests.integration.cli.support import Cli, make_cli
from tests.support import bearer


async def invoke(cli: Cli, *args: str) -> Result:
    return await asyncio.to_thread(cli, *args)


@pytest.fixture
def changeset(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub
) -> Iterator[Cli]:
    for cli in make_cli(db_url, tmp_path, monkeypatch):
        cli.env |= {
            "ORCHESTRATE_GITHUB_API_URL": github.api_url,
            "ORCHESTRATE_GITHUB_TOKEN": github.token,
        }
        yield cli


async def test_the_cli_creates_shows_lists_and_cancels(
    changeset: Cli, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, app = await agents_in_both(runtime, projects)

    created = await invoke(changeset, "changeset", "create", "--title", "Rename",
                           "--agent", app.id, "--agent", lib.id, "--json")  # fmt: skip
    assert created.exit_code == 0, created.output
    body = json.loads(created.stdout)
    change_set_id = body["id"]
    assert [m["repository"] for m in body["members"]] == [LIB, APP]

    status = await invoke(changeset, "changeset", "status", change_set_id, "--json")
    shown = await invoke(changeset, "changeset", "show", change_set_id)
    listed = await invoke(changeset, "changeset", "list", "--json")
    cancelled = await invoke(changeset, "changeset", "cancel", change_set_id)
    again = await invoke(changeset, "changeset", "cancel", change_set_id)

    assert [m["waiting_for"] for m in json.loads(status.stdout)["members"]] == [
        "its pull request to be opened"
    ] * 2
    assert LIB in shown.stdout
    assert "Rename" in shown.stdout
    assert [c["id"] for c in json.loads(listed.stdout)] == [change_set_id]
    assert cancelled.exit_code == 0, cancelled.output
    assert again.exit_code == 1
    assert "cancelled already" in again.output


async def test_the_cli_refuses_bad_members_saying_why(
    changeset: Cli, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, _ = await agents_in_both(runtime, projects)

    alone = await invoke(changeset, "changeset", "create", "--title", "T", "--agent", lib.id)
    bad_ref = await invoke(changeset, "changeset", "create", "--title", "T",
                           "--agent", lib.id, "--pr", "octo/app")  # fmt: skip
    unknown = await invoke(changeset, "changeset", "show", "cs_nope")

    assert alone.exit_code == 2
    assert "at least two repositories" in alone.output
    assert bad_ref.exit_code == 2
    assert "OWNER/NAME#NUMBER" in bad_ref.output
    assert unknown.exit_code == 1
    assert "No change set cs_nope" in unknown.output


async def test_the_api_creates_for_operators_and_reads_for_anyone(
    api: httpx.AsyncClient,
    tokens: dict[Role, str],
    runtime: Runtime,
    projects: Repositories,
    on_github: FakeGitHub,
) -> None:
    lib, app = await agents_in_both(runtime, projects)
    body = {"title": "Rename", "agents": [app.id, lib.id]}

    refused = await api.post("/api/changesets", json=body, headers=bearer(tokens[Role.VIEWER]))
    created = await api.post("/api/changesets", json=body, headers=bearer(tokens[Role.OPERATOR]))
    assert refused.status_code == 403, refused.text
    assert created.status_code == 201, created.text
    change_set_id = created.json()["id"]
    viewer = bearer(tokens[Role.VIEWER])

    one = await api.get(f"/api/changesets/{change_set_id}", headers=viewer)
    status = await api.get(f"/api/changesets/{change_set_id}/status", headers=viewer)
    listed = await api.get("/api/changesets", headers=viewer)
    missing = await api.get("/api/changesets/cs_nope", headers=viewer)
    single = await api.post(
        "/api/changesets",
        json={"title": "T", "agents": [lib.id]},
        headers=bearer(tokens[Role.OPERATOR]),
    )

    assert [m["repository"] for m in one.json()["members"]] == [LIB, APP]
    assert status.json()["state"] == "open"
    assert [c["id"] for c in listed.json()["items"]] == [change_set_id]
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert single.status_code == 422
    assert "at least two repositories" in single.json()["detail"]
