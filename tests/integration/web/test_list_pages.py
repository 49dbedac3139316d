"""Every list route answers one page, ``{items, next_cursor}``, and takes ``limit`` and ``cursor``.

Clients written against one list route work against all of them: walking pages with
``next_cursor`` visits every item once, and a cursor a client made up is a 422 problem.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.integration.web.test_problems import assert_problem
from tests.support import bearer

Tokens = dict[Role, str]
Setup = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[None]]

PIPELINE = "name: {name}\nsteps:\n  - id: greet\n    run: echo hello\n"


async def three_pipelines(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for name in ("alpha", "beta", "gamma"):
        response = await api.post(
            "/api/pipelines", json={"yaml": PIPELINE.format(name=name)}, headers=admin
        )
        assert response.status_code == 201, response.text


async def three_schedules(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await three_pipelines(api, admin)
    for name in ("nightly", "hourly", "weekly"):
        document = {"name": name, "cron": "0 2 * * *", "pipeline": "alpha"}
        response = await api.post("/api/schedules", json=document, headers=admin)
        assert response.status_code == 201, response.text


async def three_fires(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await three_schedules(api, admin)
    for _ in range(3):
        response = await api.post("/api/schedules/nightly/trigger", headers=admin)
        assert response.status_code == 200, response.text


async def three_secrets(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for name in ("ONE", "TWO", "THREE"):
        response = await api.put(f"/api/secrets/{name}", json={"value": "v4lue"}, headers=admin)
        assert response.status_code == 201, response.text


async def three_channels(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for name in ("hook-c", "hook-a", "hook-b"):
        document = {"name": name, "type": "webhook", "url": "http://127.0.0.1:9/alerts"}
        response = await api.post("/api/monitoring/channels", json=document, headers=admin)
        assert response.status_code == 201, response.text


async def three_notification_tries(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """Three failed tests (nothing listens on port 9): three entries of the log."""
    await three_channels(api, admin)
    for name in ("hook-a", "hook-b", "hook-c"):
        response = await api.post(f"/api/monitoring/channels/{name}/test", headers=admin)
        assert response.status_code == 502, response.text


async def nothing(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """The route lists what exists anyway: a token per role, the built-in agent types."""


# (path, what makes at least three items, the field that identifies an item)
LISTS: list[tuple[str, Setup, str]] = [
    ("/api/pipelines", three_pipelines, "name"),
    ("/api/schedules", three_schedules, "name"),
    ("/api/schedules/nightly/runs", three_fires, "id"),
    ("/api/secrets", three_secrets, "name"),
    ("/api/tokens", nothing, "id"),
    ("/api/agents/types", nothing, "name"),
    ("/api/monitoring/channels", three_channels, "name"),
    ("/api/monitoring/notifications", three_notification_tries, "id"),
]


async def walk(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[list[Any]]:
    """Every page of ``path`` at two items a page."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(("path", "setup", "identity"), LISTS)
async def test_walking_the_pages_visits_every_item_once(
    api: httpx.AsyncClient, tokens: Tokens, path: str, setup: Setup, identity: str
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    await setup(api, admin)

    whole = await api.get(path, params={"limit": 500}, headers=admin)
    pages = await walk(api, path, admin)

    everything = [item[identity] for item in whole.json()["items"]]
    walked = [item[identity] for page in pages for item in page]
    assert len(everything) >= 3
    assert walked == everything
    assert len(set(walked)) == len(walked)
    assert all(len(page) == 2 for page in pages[:-1])


@pytest.mark.parametrize(("path", "setup", "identity"), LISTS)
async def test_a_made_up_cursor_is_a_422_problem(
    api: httpx.AsyncClient, tokens: Tokens, path: str, setup: Setup, identity: str
) -> None:
    del identity
    admin = bearer(tokens[Role.ADMIN])
    await setup(api, admin)

    response = await api.get(path, params={"cursor": "not-a-cursor"}, headers=admin)

    problem = assert_problem(response, 422)
    assert "cursor" in problem["detail"]


async def test_pending_approvals_come_in_pages_too(
    api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
) -> None:
    del runtime
    gated = "name: gated\nsteps:\n  - id: ok\n    approval:\n      approvers: [test-operator]\n"
    operator = bearer(tokens[Role.OPERATOR])
    created = await api.post("/api/pipelines", json={"yaml": gated}, headers=operator)
    assert created.status_code == 201, created.text

    response = await api.get("/api/approvals", params={"limit": 1}, headers=operator)
    bad = await api.get("/api/approvals", params={"cursor": "%%%"}, headers=operator)

    assert response.json() == {"items": [], "next_cursor": None}
    assert_problem(bad, 422)


def test_no_route_answers_a_bare_array(api_document: dict[str, Any]) -> None:
    """A list is always a page: clients can rely on ``items`` and ``next_cursor``."""
    arrays = []
    pages_without_parameters = []
    for path, operations in api_document["paths"].items():
        for method, operation in operations.items():
            schema = _success_schema(operation)
            if schema.get("type") == "array":
                arrays.append(f"{method.upper()} {path}")
            if _is_page(api_document, schema):
                names = {p["name"] for p in operation.get("parameters", [])}
                # An event log's cursor is a position in it, named ``after`` there.
                if "limit" not in names or not names & {"cursor", "after"}:
                    pages_without_parameters.append(f"{method.upper()} {path}")

    assert arrays == []
    assert pages_without_parameters == []


@pytest.fixture
def api_document(runtime: Runtime) -> dict[str, Any]:
    from orchestrate.app.http import create_app

    document: dict[str, Any] = create_app(runtime).openapi()
    return document


def _success_schema(operation: dict[str, Any]) -> dict[str, Any]:
    response = operation.get("responses", {}).get("200", {})
    schema: dict[str, Any] = (
        response.get("content", {}).get("application/json", {}).get("schema", {})
    )
    return schema


def _is_page(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    reference = schema.get("$ref", "")
    if not reference:
        return False
    component = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    return {"items", "next_cursor"} <= set(component.get("properties", {}))
