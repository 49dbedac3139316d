"""``GET /api/events``: pages of the log by cursor, filters, and problem documents."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.stories.events import StoryCreated
from tests.event_types import Ticked
from tests.support import bearer


async def write(runtime: Runtime, count: int) -> None:
    async with runtime.uow() as uow:
        for n in range(count):
            record_event(uow, Ticked(subject=f"subject_{n % 2}", n=n))
        record_event(uow, StoryCreated(subject="story_1", title="Sign up", status="backlog"))
        await uow.commit()


async def get(api: httpx.AsyncClient, token: str, **params: Any) -> tuple[int, dict[str, Any]]:
    response = await api.get("/api/events", params=params, headers=bearer(token))
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_a_viewer_pages_through_the_log_with_the_next_cursor(
    runtime: Runtime, api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    await write(runtime, 5)
    viewer = tokens[Role.VIEWER]

    status, first = await get(api, viewer, limit=4)
    _, second = await get(api, viewer, limit=4, after=first["next_cursor"])

    assert status == 200
    assert [item["type"] for item in first["items"]] == ["test.tick"] * 4
    assert [item["payload"]["n"] for item in first["items"]] == [0, 1, 2, 3]
    assert first["next_cursor"] == str(first["items"][-1]["id"])
    assert [item["type"] for item in second["items"]] == ["test.tick", "story.created"]
    assert second["next_cursor"] is None
    story = second["items"][-1]
    assert set(story) == {"id", "type", "subject", "version", "created_at", "payload"}
    assert story["payload"] == {"title": "Sign up", "status": "backlog"}


async def test_type_and_subject_filters_select_events(
    runtime: Runtime, api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    await write(runtime, 5)
    viewer = tokens[Role.VIEWER]

    _, prefix = await get(api, viewer, type="story.*")
    _, exact = await get(api, viewer, type="test.tick", subject="subject_1")
    _, several = await get(api, viewer, type=["story.created", "test.*"])

    assert [item["subject"] for item in prefix["items"]] == ["story_1"]
    assert [item["payload"]["n"] for item in exact["items"]] == [1, 3]
    assert len(several["items"]) == 6


async def test_reading_events_needs_a_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/events")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "params",
    [
        {"after": "abc"},
        {"after": "-1"},
        {"after": str(2**63)},
        {"type": "Pipeline*"},
        {"type": "pipeline.*.step"},
        {"subject": "x" * 201},
    ],
)
async def test_a_bad_cursor_or_filter_is_a_422_problem(
    api: httpx.AsyncClient, tokens: dict[Role, str], params: dict[str, str]
) -> None:
    for path in ("/api/events", "/api/events/stream"):
        response = await api.get(path, params=params, headers=bearer(tokens[Role.VIEWER]))
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 422


@pytest.mark.parametrize("limit", ["0", "501", "ten"])
async def test_a_page_size_outside_1_to_500_is_a_422_problem(
    api: httpx.AsyncClient, tokens: dict[Role, str], limit: str
) -> None:
    status, problem = await get(api, tokens[Role.VIEWER], limit=limit)
    assert status == 422
    assert problem["status"] == 422


async def test_a_bad_last_event_id_is_a_422_problem(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    headers = {**bearer(tokens[Role.VIEWER]), "Last-Event-ID": "yesterday"}
    response = await api.get("/api/events/stream", headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
