"""``/api/agents`` over HTTP: start, list, inspect, steer, delete and read transcripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.testing.scripted import ScriptedProvider, finish, text_reply, tool_call
from tests.integration.agents.conftest import AgentRunner
from tests.support import bearer

Tokens = dict[Role, str]
BUILT_IN_TYPES = 16


def start_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "explorer",
        "task": "Where is the retry logic?",
        "provider": "openai",
        "model": "gpt-4o-mini",
    }
    return {**body, **changes}


async def start(api: httpx.AsyncClient, tokens: Tokens, **changes: Any) -> dict[str, Any]:
    response = await api.post(
        "/api/agents", json=start_body(**changes), headers=bearer(tokens[Role.OPERATOR])
    )
    assert response.status_code == 201, response.text
    agent: dict[str, Any] = response.json()
    return agent


async def run_jobs_of(api: httpx.AsyncClient, tokens: Tokens, agent_id: str) -> list[Any]:
    response = await api.get(
        "/api/jobs", params={"kind": "agents.run"}, headers=bearer(tokens[Role.VIEWER])
    )
    assert response.status_code == 200
    return [job for job in response.json()["items"] if job["payload"]["agent_id"] == agent_id]


async def steer(
    api: httpx.AsyncClient, tokens: Tokens, agent_id: str, action: str, role: Role = Role.OPERATOR
) -> httpx.Response:
    return await api.post(f"/api/agents/{agent_id}/{action}", headers=bearer(tokens[role]))


class TestStarting:
    async def test_a_started_agent_is_created_with_its_settings_and_a_queued_run(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/agents",
            json=start_body(max_turns=7, max_cost_usd="1.25"),
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 201
        agent = response.json()
        assert agent["id"].startswith("agent")
        assert agent["state"] == "created"
        assert (agent["type"], agent["task"]) == ("explorer", "Where is the retry logic?")
        assert (agent["provider"], agent["model"]) == ("openai", "gpt-4o-mini")
        assert agent["limits"]["max_turns"] == 7
        assert agent["limits"]["max_cost_usd"] == "1.25"
        assert agent["limits"]["max_wall_seconds"] == 30 * 60  # explorer.md
        (job,) = await run_jobs_of(api, tokens, agent["id"])
        assert job["status"] == "queued"

    async def test_limits_not_given_come_from_the_agent_type(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens, type="explorer")

        assert agent["limits"]["max_turns"] == 40  # explorer.md
        assert agent["limits"]["max_cost_usd"] == "1"

    async def test_a_start_sets_how_many_repeats_count_as_a_loop(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        assert (await start(api, tokens))["limits"]["stuck_repeats"] == 4
        assert (await start(api, tokens, stuck_repeats=9))["limits"]["stuck_repeats"] == 9

    @pytest.mark.parametrize("repeats", [1, 0, "many"])
    async def test_fewer_than_two_repeats_is_a_problem_and_nothing_is_started(
        self, api: httpx.AsyncClient, tokens: Tokens, repeats: object
    ) -> None:
        response = await api.post(
            "/api/agents",
            json=start_body(stuck_repeats=repeats),
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert ["body", "stuck_repeats"] in [e["loc"] for e in response.json()["errors"]]
        listed = await api.get("/api/agents", headers=bearer(tokens[Role.VIEWER]))
        assert listed.json()["items"] == []

    async def test_an_agent_created_without_start_is_queued_only_when_started(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens, start=False)
        assert await run_jobs_of(api, tokens, agent["id"]) == []

        started = await steer(api, tokens, agent["id"], "start")

        assert started.status_code == 200
        assert started.json()["state"] == "created"
        assert len(await run_jobs_of(api, tokens, agent["id"])) == 1

    async def test_starting_an_agent_twice_is_a_conflict_and_queues_nothing_more(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens, start=False)
        await steer(api, tokens, agent["id"], "start")
        await steer(api, tokens, agent["id"], "cancel")

        again = await steer(api, tokens, agent["id"], "start")

        assert again.status_code == 409
        assert "only a created agent can be started" in again.json()["detail"]
        assert len(await run_jobs_of(api, tokens, agent["id"])) == 1

    async def test_starting_an_agent_that_is_already_queued_is_a_conflict(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        again = await steer(api, tokens, agent["id"], "start")

        assert again.status_code == 409
        assert "already queued" in again.json()["detail"]
        assert len(await run_jobs_of(api, tokens, agent["id"])) == 1

    async def test_an_unknown_type_is_not_found_and_the_types_there_are_are_listed(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/agents", json=start_body(type="explorr"), headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 404
        problem = response.json()
        assert "No agent type 'explorr'" in problem["detail"]
        assert "Did you mean 'explorer'?" in problem["detail"]
        assert len(problem["available"]) == BUILT_IN_TYPES

    @pytest.mark.parametrize("task", ["", "   "])
    async def test_an_empty_task_is_refused(
        self, api: httpx.AsyncClient, tokens: Tokens, task: str
    ) -> None:
        response = await api.post(
            "/api/agents", json=start_body(task=task), headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_an_unknown_field_is_refused(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/agents",
            json=start_body(max_tokens=1000),
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 422
        assert ["body", "max_tokens"] in [e["loc"] for e in response.json()["errors"]]

    async def test_a_repo_that_is_not_a_git_repository_is_refused(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        response = await api.post(
            "/api/agents",
            json=start_body(repo=str(tmp_path)),
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 422
        assert "not the top of a git repository" in response.json()["detail"]

    async def test_a_missing_provider_key_is_reported_and_nothing_is_stored(
        self, api: httpx.AsyncClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        body = start_body()
        del body["provider"], body["model"]

        response = await api.post("/api/agents", json=body, headers=bearer(tokens[Role.OPERATOR]))

        assert response.status_code == 422
        assert "ANTHROPIC_API_KEY is not set" in response.json()["detail"]
        listed = await api.get("/api/agents", headers=bearer(tokens[Role.VIEWER]))
        assert listed.json()["items"] == []

    async def test_a_model_name_longer_than_can_be_stored_is_refused_on_every_engine(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/agents", json=start_body(model="m" * 201), headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 422
        assert ["body", "model"] in [e["loc"] for e in response.json()["errors"]]

    @pytest.mark.parametrize("provider", ["bogus", "replay:/no/such/session.jsonl", "replay"])
    async def test_a_provider_that_cannot_be_used_is_refused_as_a_bad_request(
        self, api: httpx.AsyncClient, tokens: Tokens, provider: str
    ) -> None:
        response = await api.post(
            "/api/agents", json=start_body(provider=provider), headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 422

    async def test_a_viewer_may_not_start_an_agent(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/agents", json=start_body(), headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 403
        listed = await api.get("/api/agents", headers=bearer(tokens[Role.VIEWER]))
        assert listed.json()["items"] == []


class TestReading:
    async def test_agents_are_listed_newest_first_a_page_at_a_time(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        ids = [(await start(api, tokens, task=f"task {n}"))["id"] for n in range(3)]
        headers = bearer(tokens[Role.VIEWER])

        first = (await api.get("/api/agents", params={"limit": 2}, headers=headers)).json()
        cursor = first["next_cursor"]
        second = (
            await api.get("/api/agents", params={"limit": 2, "cursor": cursor}, headers=headers)
        ).json()

        assert [a["id"] for a in first["items"]] == [ids[2], ids[1]]
        assert [a["id"] for a in second["items"]] == [ids[0]]
        assert second["next_cursor"] is None

    async def test_the_list_filters_by_state_and_by_type(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        explorer = await start(api, tokens, type="explorer")
        reviewer = await start(api, tokens, type="code-reviewer")
        cancelled = await start(api, tokens, type="code-reviewer")
        await steer(api, tokens, cancelled["id"], "cancel")
        headers = bearer(tokens[Role.VIEWER])

        by_state = await api.get("/api/agents", params={"state": "cancelled"}, headers=headers)
        by_type = await api.get("/api/agents", params={"type": "code-reviewer"}, headers=headers)
        both = await api.get(
            "/api/agents", params={"type": "explorer", "state": "created"}, headers=headers
        )

        assert [a["id"] for a in by_state.json()["items"]] == [cancelled["id"]]
        assert [a["id"] for a in by_type.json()["items"]] == [cancelled["id"], reviewer["id"]]
        assert [a["id"] for a in both.json()["items"]] == [explorer["id"]]

    async def test_an_unknown_state_filter_is_refused(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/agents", params={"state": "sleeping"}, headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 422

    async def test_the_types_are_the_sixteen_built_in_ones_with_their_files(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get("/api/agents/types", headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 200
        types = response.json()["items"]
        assert len(types) == BUILT_IN_TYPES
        by_name = {t["name"]: t for t in types}
        assert by_name["explorer"]["source"].endswith("explorer.md")
        assert by_name["explorer"]["tools"] == ["read_file", "list_files", "grep"]
        assert all(t["description"] and Path(t["source"]).is_file() for t in types)

    async def test_one_agent_is_read_by_its_id(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        response = await api.get(f"/api/agents/{agent['id']}", headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 200
        assert response.json() == agent

    async def test_an_unknown_agent_is_a_not_found_problem(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get("/api/agents/agent_nope", headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 404
        assert "agent_nope" in problem["detail"]
        assert problem["instance"] == "/api/agents/agent_nope"

    async def test_reading_agents_needs_a_token(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/agents")

        assert response.status_code == 401


class TestSteering:
    async def test_a_created_agent_is_cancelled_at_once(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        response = await steer(api, tokens, agent["id"], "cancel")

        assert response.status_code == 200
        assert response.json()["state"] == "cancelled"
        assert response.json()["control"] is None
        read = await api.get(f"/api/agents/{agent['id']}", headers=bearer(tokens[Role.VIEWER]))
        assert read.json()["state"] == "cancelled"

    async def test_a_created_agent_cannot_be_paused_and_the_moves_it_has_are_named(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        response = await steer(api, tokens, agent["id"], "pause")

        assert response.status_code == 409
        problem = response.json()
        assert problem["current"] == "created"
        assert problem["allowed"] == ["cancelled", "failed", "running"]
        assert "cannot go from 'created' to 'paused'" in problem["detail"]

    async def test_only_a_paused_or_waiting_agent_can_be_resumed(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        response = await steer(api, tokens, agent["id"], "resume")

        assert response.status_code == 409
        assert "is created" in response.json()["detail"]

    @pytest.mark.parametrize("action", ["approve", "deny"])
    async def test_approving_with_nothing_waiting_is_a_conflict(
        self, api: httpx.AsyncClient, tokens: Tokens, action: str
    ) -> None:
        agent = await start(api, tokens)

        response = await steer(api, tokens, agent["id"], action)

        assert response.status_code == 409
        assert "nothing is waiting for approval" in response.json()["detail"]

    @pytest.mark.parametrize("action", ["start", "pause", "resume", "cancel", "approve", "deny"])
    async def test_a_viewer_may_not_steer_an_agent(
        self, api: httpx.AsyncClient, tokens: Tokens, action: str
    ) -> None:
        agent = await start(api, tokens, start=False)

        response = await steer(api, tokens, agent["id"], action, role=Role.VIEWER)

        assert response.status_code == 403
        read = await api.get(f"/api/agents/{agent['id']}", headers=bearer(tokens[Role.VIEWER]))
        assert read.json()["state"] == "created"

    async def test_steering_an_unknown_agent_is_not_found(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await steer(api, tokens, "agent_nope", "cancel")

        assert response.status_code == 404

    async def test_starting_and_cancelling_are_audited_with_the_token_that_did_it(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)
        await steer(api, tokens, agent["id"], "cancel")

        response = await api.get(
            "/api/audit", params={"subject": agent["id"]}, headers=bearer(tokens[Role.VIEWER])
        )

        records = response.json()["items"]
        assert [r["action"] for r in records] == ["agent.cancel", "agent.start"]
        assert {r["actor"] for r in records} == {"token:test-operator"}


class TestDenying:
    async def waiting_for_approval(self, runtime: Runtime, repo: Path) -> str:
        runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
        agent = AgentRunner(runtime, ScriptedProvider([tool_call("bash", {"command": "ls"})]))
        await agent.start(repo=repo)
        waiting = await agent.drive()
        assert waiting.state.value == "waiting_for_approval"
        return agent.agent_id

    async def test_a_denial_with_a_reason_runs_the_agent_on_and_audits_the_reason(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime, repo: Path
    ) -> None:
        agent_id = await self.waiting_for_approval(runtime, repo)

        response = await api.post(
            f"/api/agents/{agent_id}/deny",
            json={"reason": "Use the read_file tool instead."},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 200, response.text
        assert response.json()["state"] == "running"
        audit = await api.get(
            "/api/audit", params={"subject": agent_id}, headers=bearer(tokens[Role.VIEWER])
        )
        denial = audit.json()["items"][0]
        assert denial["action"] == "agent.deny"
        assert denial["details"]["reason"] == "Use the read_file tool instead."

    async def test_a_reason_over_two_thousand_characters_is_a_validation_problem(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime, repo: Path
    ) -> None:
        agent_id = await self.waiting_for_approval(runtime, repo)

        response = await api.post(
            f"/api/agents/{agent_id}/deny",
            json={"reason": "x" * 2001},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 422
        read = await api.get(f"/api/agents/{agent_id}", headers=bearer(tokens[Role.VIEWER]))
        assert read.json()["state"] == "waiting_for_approval"


class TestDeleting:
    async def test_an_active_agent_cannot_be_deleted(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        response = await api.delete(
            f"/api/agents/{agent['id']}", headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 409
        assert "cancel it before deleting it" in response.json()["detail"]

    async def test_a_cancelled_agent_is_deleted_and_then_gone(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)
        await steer(api, tokens, agent["id"], "cancel")
        headers = bearer(tokens[Role.OPERATOR])

        deleted = await api.delete(f"/api/agents/{agent['id']}", headers=headers)

        assert deleted.status_code == 204
        assert deleted.content == b""
        assert (await api.get(f"/api/agents/{agent['id']}", headers=headers)).status_code == 404
        again = await api.delete(f"/api/agents/{agent['id']}", headers=headers)
        assert again.status_code == 404

    async def test_a_viewer_may_not_delete_an_agent(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)
        await steer(api, tokens, agent["id"], "cancel")

        response = await api.delete(
            f"/api/agents/{agent['id']}", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 403


READ_AND_FINISH = [
    text_reply("Let me look at calc.py first."),
    tool_call("read_file", {"path": "calc.py"}),
    tool_call("grep", {"pattern": "def add"}),
    finish("completed", "add() subtracts; it should add."),
]


class TestTranscript:
    async def completed_run(self, runtime: Runtime, repo: Path) -> str:
        agent = AgentRunner(runtime, ScriptedProvider(READ_AND_FINISH))
        await agent.start(agent_type="explorer", task="Why does test_add fail?", repo=repo)
        run = await agent.drive()
        assert run.state.value == "completed", run.failure_reason
        return agent.agent_id

    async def test_the_transcript_holds_the_task_tool_calls_and_their_results_in_order(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime, repo: Path
    ) -> None:
        agent_id = await self.completed_run(runtime, repo)

        response = await api.get(
            f"/api/agents/{agent_id}/messages", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 200
        page = response.json()
        messages = page["items"]
        seqs = [m["seq"] for m in messages]
        assert seqs == sorted(seqs)
        assert page["next_after"] == seqs[-1]
        assert messages[0]["role"] == "user"
        assert "Why does test_add fail?" in messages[0]["content"][0]["text"]
        uses = [b for m in messages for b in m["content"] if b["type"] == "tool_use"]
        results = [b for m in messages for b in m["content"] if b["type"] == "tool_result"]
        assert [u["name"] for u in uses] == ["read_file", "grep", "finish"]
        # finish ends the run, so it is the one call without a result
        assert [r["tool_use_id"] for r in results] == [u["id"] for u in uses[:2]]
        assert "return a - b" in results[0]["content"]
        said = [b for m in messages if m["role"] == "assistant" for b in m["content"]]
        assert {"type": "text", "text": "Let me look at calc.py first."} in said

    async def test_after_returns_only_the_newer_messages(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime, repo: Path
    ) -> None:
        agent_id = await self.completed_run(runtime, repo)
        headers = bearer(tokens[Role.VIEWER])
        everything = (await api.get(f"/api/agents/{agent_id}/messages", headers=headers)).json()
        middle = everything["items"][2]["seq"]

        newer = (
            await api.get(
                f"/api/agents/{agent_id}/messages", params={"after": middle}, headers=headers
            )
        ).json()
        nothing = (
            await api.get(
                f"/api/agents/{agent_id}/messages",
                params={"after": everything["next_after"]},
                headers=headers,
            )
        ).json()

        assert newer["items"] == everything["items"][3:]
        assert newer["next_after"] == everything["next_after"]
        assert nothing == {"items": [], "next_after": everything["next_after"]}

    async def test_an_agent_that_has_not_run_has_an_empty_transcript(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        agent = await start(api, tokens)

        response = await api.get(
            f"/api/agents/{agent['id']}/messages", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 200
        assert response.json() == {"items": [], "next_after": -1}

    async def test_the_transcript_of_an_unknown_agent_is_not_found(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/agents/agent_nope/messages", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 404


async def test_a_provider_other_than_the_default_needs_its_own_model(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = start_body(provider="openai")
    body.pop("model", None)
    response = await api.post("/api/agents", json=body, headers=bearer(tokens[Role.OPERATOR]))

    assert response.status_code == 422
    assert "--model" in response.json()["detail"]
