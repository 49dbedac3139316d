"""The stories and epics HTTP API: status codes, problem documents, JSON field names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.integration.stories.support import FIXTURES, audit_actions
from tests.support import bearer

STORY_FIELDS = {
    "id",
    "key",
    "epic_id",
    "title",
    "description",
    "acceptance_criteria",
    "status",
    "priority",
    "labels",
    "assignee",
    "branch",
    "pr_url",
    "depends_on",
    "blocked_reason",
    "created_at",
    "updated_at",
}
EPIC_FIELDS = {
    "id",
    "key",
    "title",
    "description",
    "status",
    "story_counts",
    "created_at",
    "updated_at",
}


class Client:
    """The API as one role sees it."""

    def __init__(self, api: httpx.AsyncClient, token: str) -> None:
        self.api = api
        self.headers = bearer(token)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.api.request(method, url, headers=self.headers, **kwargs)

    async def create_story(self, **body: Any) -> dict[str, Any]:
        response = await self.request("POST", "/api/stories", json={"title": "Sign up", **body})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
def operator(api: httpx.AsyncClient, tokens: dict[Role, str]) -> Client:
    return Client(api, tokens[Role.OPERATOR])


@pytest.fixture
def viewer(api: httpx.AsyncClient, tokens: dict[Role, str]) -> Client:
    return Client(api, tokens[Role.VIEWER])


class TestStories:
    async def test_created_story_has_exactly_the_documented_fields(self, operator: Client) -> None:
        story = await operator.create_story(
            description="As a user…",
            acceptance_criteria=["Form works", {"text": "Mail sent", "done": True}],
            labels=["Backend", "backend"],
            priority="high",
            assignee="ada",
        )
        assert set(story) == STORY_FIELDS
        assert story["acceptance_criteria"] == [
            {"text": "Form works", "done": False},
            {"text": "Mail sent", "done": True},
        ]
        assert (story["status"], story["priority"], story["labels"]) == (
            "backlog",
            "high",
            ["backend"],
        )
        fetched = await operator.request("GET", f"/api/stories/{story['id']}")
        assert fetched.json() == story

    async def test_patch_changes_only_the_fields_sent_and_null_clears(
        self, operator: Client
    ) -> None:
        story = await operator.create_story(assignee="ada", labels=["api"])
        response = await operator.request(
            "PATCH",
            f"/api/stories/{story['id']}",
            json={"status": "ready", "assignee": None, "pr_url": "https://example.com/pr/1"},
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert (changed["status"], changed["assignee"], changed["pr_url"]) == (
            "ready",
            None,
            "https://example.com/pr/1",
        )
        assert (changed["title"], changed["labels"]) == ("Sign up", ["api"])

    async def test_delete_answers_204_and_then_the_story_is_gone(self, operator: Client) -> None:
        story = await operator.create_story()
        deleted = await operator.request("DELETE", f"/api/stories/{story['id']}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        missing = await operator.request("GET", f"/api/stories/{story['id']}")
        assert missing.status_code == 404

    async def test_list_filters_and_pages_newest_first(self, operator: Client) -> None:
        ids = [(await operator.create_story(title=f"S{i}", labels=["web"]))["id"] for i in range(5)]
        await operator.create_story(title="Other", labels=["api"])
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"label": "WEB", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            response = await operator.request("GET", "/api/stories", params=params)
            body = response.json()
            assert set(body) == {"items", "next_cursor"}
            seen.extend(item["id"] for item in body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        ready = await operator.request("GET", "/api/stories", params={"status": "ready"})
        assert ready.json() == {"items": [], "next_cursor": None}


class TestErrors:
    async def test_an_invalid_transition_is_a_409_problem(self, operator: Client) -> None:
        story = await operator.create_story()
        response = await operator.request(
            "PATCH", f"/api/stories/{story['id']}", json={"status": "done"}
        )
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["allowed"] == ["ready", "blocked", "cancelled"]
        assert "from 'backlog' it can move to" in problem["detail"]

    @pytest.mark.parametrize(
        ("method", "url"),
        [
            ("GET", "/api/stories/story_missing"),
            ("PATCH", "/api/stories/9.9"),
            ("DELETE", "/api/stories/story_missing"),
            ("GET", "/api/epics/epic_missing"),
            ("PATCH", "/api/epics/42"),
        ],
    )
    async def test_unknown_ids_are_404(self, operator: Client, method: str, url: str) -> None:
        body = {"title": "x"} if method == "PATCH" else None
        response = await operator.request(method, url, json=body)
        assert response.status_code == 404
        assert response.json()["title"] == "Not found"

    @pytest.mark.parametrize(
        "body",
        [
            {"title": ""},
            {"title": None},
            {"status": "finished"},
            {"priority": "urgent"},
            {"colour": "red"},
            {"epic_id": "epic_missing"},
            {"acceptance_criteria": [{"text": "x", "checked": True}]},
            {"acceptance_criteria": ["   "]},
            {"labels": [""]},
            {"pr_url": "ftp://example.com"},
        ],
    )
    async def test_bad_input_is_422_and_loses_nothing(
        self, operator: Client, body: dict[str, Any]
    ) -> None:
        story = await operator.create_story(labels=["api"], acceptance_criteria=["works"])
        response = await operator.request("PATCH", f"/api/stories/{story['id']}", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        after = await operator.request("GET", f"/api/stories/{story['id']}")
        assert after.json() == story

    async def test_creating_a_story_in_an_unknown_epic_is_422(self, operator: Client) -> None:
        response = await operator.request(
            "POST", "/api/stories", json={"title": "x", "epic_id": "7"}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "epic_id"
        listed = await operator.request("GET", "/api/stories")
        assert listed.json()["items"] == []


class TestPermissions:
    async def test_a_viewer_reads_but_gets_403_on_every_change(
        self, operator: Client, viewer: Client, runtime: Runtime
    ) -> None:
        story = await operator.create_story()
        epic = (await operator.request("POST", "/api/epics", json={"title": "E"})).json()
        attempts = [
            ("POST", "/api/stories", {"title": "x"}),
            ("PATCH", f"/api/stories/{story['id']}", {"title": "x"}),
            ("DELETE", f"/api/stories/{story['id']}", None),
            ("POST", "/api/epics", {"title": "x"}),
            ("PATCH", f"/api/epics/{epic['id']}", {"title": "x"}),
        ]
        for method, url, body in attempts:
            response = await viewer.request(method, url, json=body)
            assert response.status_code == 403, (method, url)
        assert (await viewer.request("GET", f"/api/stories/{story['id']}")).json() == story
        assert (await viewer.request("GET", "/api/epics")).status_code == 200
        assert await audit_actions(runtime, story["id"]) == ["story.create"]

    async def test_without_a_token_the_api_answers_401(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/stories")).status_code == 401


class TestEpics:
    async def test_epic_lifecycle_over_http(self, operator: Client) -> None:
        created = await operator.request(
            "POST", "/api/epics", json={"title": "Billing", "description": "Money"}
        )
        assert created.status_code == 201
        epic = created.json()
        assert set(epic) == EPIC_FIELDS
        await operator.create_story(epic_id=epic["id"])
        patched = await operator.request(
            "PATCH", f"/api/epics/{epic['id']}", json={"status": "in_progress"}
        )
        assert patched.json()["status"] == "in_progress"
        fetched = (await operator.request("GET", f"/api/epics/{epic['id']}")).json()
        assert fetched["story_counts"]["backlog"] == 1
        listed = (await operator.request("GET", "/api/epics")).json()
        assert [item["id"] for item in listed["items"]] == [epic["id"]]
        assert listed["next_cursor"] is None
        stories = await operator.request("GET", "/api/stories", params={"epic_id": epic["id"]})
        assert len(stories.json()["items"]) == 1

    async def test_imported_epics_and_stories_are_reachable_by_key(
        self, operator: Client, runtime: Runtime
    ) -> None:
        from orchestrate.auth.models import Actor
        from orchestrate.stories import service

        await service.import_bmad(runtime.uow(), FIXTURES / "project", Actor.system("test"))
        epic = (await operator.request("GET", "/api/epics/1")).json()
        assert (epic["key"], epic["story_counts"]["done"]) == ("1", 1)
        story = (await operator.request("GET", "/api/stories/1.1")).json()
        assert (story["key"], story["status"], story["epic_id"]) == ("1.1", "done", epic["id"])
