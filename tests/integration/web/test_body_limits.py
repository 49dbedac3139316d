"""Request bodies are capped per route and refused with a 413 problem, however they arrive."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from orchestrate.app.http import create_app
from orchestrate.auth.models import Role
from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.support import bearer, issue_token


async def _chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _story(description_bytes: int) -> bytes:
    return json.dumps({"title": "Big", "description": "x" * description_bytes}).encode()


async def test_a_json_body_over_one_mebibyte_is_refused_with_413_and_not_stored(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    headers = {**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"}

    response = await api.post("/api/stories", content=_story(2 * 1024**2), headers=headers)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "limit of 1048576 bytes" in response.json()["detail"]
    stories = await api.get("/api/stories", headers=bearer(tokens[Role.ADMIN]))
    assert stories.json()["items"] == []


async def test_a_chunked_body_is_counted_as_it_streams_and_refused_when_it_crosses_the_limit(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    headers = {**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"}

    response = await api.post("/api/stories", content=_chunks(_story(2 * 1024**2)), headers=headers)

    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_a_body_within_the_limit_is_accepted(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    response = await api.post(
        "/api/stories",
        content=_story(900 * 1024),
        headers={**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"},
    )

    assert response.status_code == 201


async def test_json_nested_ten_thousand_deep_is_a_400_problem_not_a_500(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    deep = b'{"title": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"

    response = await api.post(
        "/api/stories",
        content=deep,
        headers={**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
async def small_limits_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(
        update={"api_max_body_bytes": 4096, "webhook_max_body_bytes": 8192}
    )
    runtime = Runtime(settings=limited, database=create_database(limited.database_url_value))
    transport = httpx.ASGITransport(app=create_app(runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.headers.update(bearer(await issue_token(runtime, "admin", Role.ADMIN)))
            yield client
    finally:
        await runtime.close()


async def test_the_limits_come_from_the_settings_and_webhooks_have_their_own(
    small_limits_client: httpx.AsyncClient,
) -> None:
    webhook = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-1"}

    api_refused = await small_limits_client.post("/api/stories", content=_story(5000))
    webhook_read = await small_limits_client.post(
        "/webhooks/github", content=b"{}" + b" " * 6000, headers=webhook
    )
    webhook_refused = await small_limits_client.post(
        "/webhooks/github", content=_chunks(b"{}" + b" " * 9000, 1000), headers=webhook
    )

    assert api_refused.status_code == 413
    assert webhook_read.status_code != 413  # read, then judged on its signature
    assert webhook_refused.status_code == 413
    assert "limit of 8192 bytes" in webhook_refused.json()["detail"]
