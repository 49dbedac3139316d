"""Out-of-range numbers and NUL bytes in a request are the client's 422, never a 500."""

from __future__ import annotations

import httpx
import pytest

from orchestrate.auth.models import Role
from tests.support import bearer


@pytest.fixture
def admin_headers(tokens: dict[Role, str]) -> dict[str, str]:
    return bearer(tokens[Role.ADMIN])


async def test_a_message_sequence_beyond_64_bits_is_a_422(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await api.get(
        "/api/agents/agent_x/messages",
        params={"after": "99999999999999999999"},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "after"]


async def test_a_last_event_id_beyond_64_bits_on_a_log_stream_is_a_422(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await api.get(
        "/api/pipeline-runs/prun_x/logs",
        params={"follow": "true"},
        headers={**admin_headers, "Last-Event-ID": "99999999999999999999"},
    )

    assert response.status_code == 422


async def test_a_nul_byte_in_an_agent_repository_path_is_a_422(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await api.post(
        "/api/agents",
        json={"type": "explorer", "task": "look around", "repo": "/tmp/a\x00b"},
        headers=admin_headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "repo"]


async def test_a_nul_byte_in_the_agent_types_repository_is_a_422(
    api: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await api.get("/api/agents/types", params={"repo": "a\x00b"}, headers=admin_headers)

    assert response.status_code == 422
