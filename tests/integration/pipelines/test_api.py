"""``/api/pipelines``, ``/api/pipeline-runs`` and ``/api/approvals`` over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.integration.pipelines.conftest import (
    approval,
    chain_yaml,
    pipeline_yaml,
    shell,
    work,
)
from tests.support import bearer

Tokens = dict[Role, str]
Json = dict[str, Any]


async def register(api: httpx.AsyncClient, tokens: Tokens, text: str) -> Json:
    response = await api.post(
        "/api/pipelines", json={"yaml": text}, headers=bearer(tokens[Role.OPERATOR])
    )
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


async def trigger(
    api: httpx.AsyncClient, tokens: Tokens, name: str, inputs: Json | None = None
) -> Json:
    response = await api.post(
        f"/api/pipelines/{name}/trigger",
        json={"inputs": inputs or {}},
        headers=bearer(tokens[Role.OPERATOR]),
    )
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


async def get_run(api: httpx.AsyncClient, tokens: Tokens, run_id: str) -> Json:
    response = await api.get(f"/api/pipeline-runs/{run_id}", headers=bearer(tokens[Role.VIEWER]))
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def statuses(run: Json) -> dict[str, str]:
    return {step["id"]: step["status"] for step in run["steps"]}


async def decide(
    api: httpx.AsyncClient,
    token: str,
    run_id: str,
    step: str,
    decision: str = "approve",
    comment: str | None = None,
) -> httpx.Response:
    return await api.post(
        f"/api/pipeline-runs/{run_id}/steps/{step}/{decision}",
        json={"comment": comment} if comment else None,
        headers=bearer(token),
    )


def approval_yaml(*approvers: str, required: int = 1) -> str:
    return pipeline_yaml(
        "gated",
        [
            shell("build", "echo built"),
            approval("ok", *approvers, needs="build", approval={"required": required}),
            shell("ship", "echo shipped", needs="ok"),
        ],
    )


class TestDefinitions:
    async def test_registering_a_pipeline_answers_201_with_its_steps(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        pipeline = await register(api, tokens, chain_yaml())

        assert pipeline["name"] == "chain"
        assert pipeline["version"] == 1
        assert [(s["id"], s["kind"], s["needs"]) for s in pipeline["steps"]] == [
            ("build", "run", []),
            ("test", "run", ["build"]),
            ("ship", "run", ["test"]),
        ]
        assert pipeline["source"] == chain_yaml()

    async def test_put_updates_the_pipeline_to_a_new_version(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register(api, tokens, pipeline_yaml("hello"))

        response = await api.put(
            "/api/pipelines/hello",
            json={"yaml": pipeline_yaml("hello", description="Says hello")},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 200, response.text
        assert (response.json()["version"], response.json()["description"]) == (2, "Says hello")
        listed = await api.get("/api/pipelines", headers=bearer(tokens[Role.VIEWER]))
        assert [(p["name"], p["version"]) for p in listed.json()["items"]] == [("hello", 2)]

    async def test_put_of_a_file_with_another_name_is_422(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.put(
            "/api/pipelines/hello",
            json={"yaml": pipeline_yaml("goodbye")},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 422
        assert "'goodbye'" in response.json()["detail"]
        missing = await api.get("/api/pipelines/goodbye", headers=bearer(tokens[Role.VIEWER]))
        assert missing.status_code == 404

    async def test_a_yaml_body_registers_the_pipeline_too(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/pipelines",
            content=pipeline_yaml("from-yaml").encode(),
            headers={**bearer(tokens[Role.OPERATOR]), "Content-Type": "application/yaml"},
        )

        assert response.status_code == 201, response.text
        assert response.json()["name"] == "from-yaml"

    async def test_an_invalid_file_is_422_listing_each_problem_with_line_and_column(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        text = "name: broken\nsteps:\n  - id: a\n    run: echo a\n    needz: b\n"

        response = await api.post(
            "/api/pipelines", json={"yaml": text}, headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        (problem,) = response.json()["problems"]
        assert (problem["line"], problem["column"]) == (5, 5)
        assert "needz" in problem["message"]
        assert problem["hint"] == "Did you mean 'needs'?"

    async def test_a_script_nested_thousands_deep_is_a_422_not_a_500(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        script = "$(" * 3000 + "${{ inputs.x }}"
        text = f"name: deep\ninputs:\n  x: {{}}\nsteps:\n  - id: a\n    run: '{script}'\n"

        response = await api.post(
            "/api/pipelines", json={"yaml": text}, headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 422
        (problem,) = response.json()["problems"]
        assert "too deeply" in problem["message"]

    async def test_a_body_without_yaml_is_an_invalid_request(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/pipelines", json={"text": "name: x"}, headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 422
        assert {tuple(e["loc"]) for e in response.json()["errors"]} >= {("yaml",)}

    async def test_a_deleted_pipeline_is_gone(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        await register(api, tokens, pipeline_yaml("hello"))

        deleted = await api.delete("/api/pipelines/hello", headers=bearer(tokens[Role.OPERATOR]))

        assert deleted.status_code == 204
        gone = await api.get("/api/pipelines/hello", headers=bearer(tokens[Role.VIEWER]))
        assert gone.status_code == 404
        assert "pipeline list" in gone.json()["detail"]

    async def test_a_viewer_may_read_pipelines_but_not_register_them(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register(api, tokens, pipeline_yaml("hello"))

        refused = await api.post(
            "/api/pipelines", json={"yaml": pipeline_yaml("x")}, headers=bearer(tokens[Role.VIEWER])
        )
        shown = await api.get("/api/pipelines/hello", headers=bearer(tokens[Role.VIEWER]))

        assert refused.status_code == 403
        assert shown.status_code == 200


class TestRuns:
    async def test_a_triggered_run_executes_its_steps_with_outputs(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, chain_yaml())

        started = await trigger(api, tokens, "chain")
        await work(runtime)

        assert started["status"] in {"queued", "running"}
        run = await get_run(api, tokens, started["id"])
        assert run["status"] == "success"
        assert statuses(run) == {"build": "success", "test": "success", "ship": "success"}
        test = run["steps"][1]
        assert test["outputs"] == {"result": "test-ok"}
        assert test["attempts"] == 1
        assert test["started_at"] <= test["finished_at"]
        assert set(test) >= {"id", "step_id", "skip_reason", "error", "max_attempts", "approvals"}

    async def test_a_viewer_cannot_trigger_a_run(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register(api, tokens, chain_yaml())

        response = await api.post(
            "/api/pipelines/chain/trigger", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 403
        runs = await api.get("/api/pipeline-runs", headers=bearer(tokens[Role.VIEWER]))
        assert runs.json()["items"] == []

    async def test_an_undeclared_input_is_422_naming_the_declared_ones(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register(api, tokens, pipeline_yaml("greet", inputs={"who": {"default": "world"}}))

        response = await api.post(
            "/api/pipelines/greet/trigger",
            json={"inputs": {"whom": "you"}},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 422
        assert "Did you mean 'who'?" in response.json()["detail"]

    async def test_inputs_reach_the_steps(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        step = shell("say", 'echo "said=hi ${{ inputs.who }}" >> "$ORCHESTRATE_OUTPUT"')
        await register(api, tokens, pipeline_yaml("greet", [step], inputs={"who": {}}))

        started = await trigger(api, tokens, "greet", {"who": "Ada"})
        await work(runtime)

        run = await get_run(api, tokens, started["id"])
        assert run["inputs"] == {"who": "Ada"}
        assert run["steps"][0]["outputs"] == {"said": "hi Ada"}

    async def test_runs_are_listed_newest_first_filtered_and_paged(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, chain_yaml("good"))
        await register(api, tokens, chain_yaml("bad", fail_at="build"))
        first = await trigger(api, tokens, "good")
        failed = await trigger(api, tokens, "bad")
        second = await trigger(api, tokens, "good")
        await work(runtime)
        viewer = bearer(tokens[Role.VIEWER])

        page = await api.get(
            "/api/pipeline-runs", params={"pipeline": "good", "limit": 1}, headers=viewer
        )
        rest = await api.get(
            "/api/pipeline-runs",
            params={"pipeline": "good", "limit": 1, "cursor": page.json()["next_cursor"]},
            headers=viewer,
        )
        failures = await api.get("/api/pipeline-runs", params={"status": "failure"}, headers=viewer)

        assert [r["id"] for r in page.json()["items"]] == [second["id"]]
        assert [r["id"] for r in rest.json()["items"]] == [first["id"]]
        assert rest.json()["next_cursor"] is None
        assert [r["id"] for r in failures.json()["items"]] == [failed["id"]]
        assert failures.json()["items"][0]["steps"] == []

    async def test_an_unknown_run_is_a_404_problem(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/pipeline-runs/prun_nope", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 404
        assert response.json()["detail"] == "No pipeline run prun_nope"

    async def test_cancelling_a_waiting_run_cancels_it(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator"))
        started = await trigger(api, tokens, "gated")
        await work(runtime)

        response = await api.post(
            f"/api/pipeline-runs/{started['id']}/cancel", headers=bearer(tokens[Role.OPERATOR])
        )
        await work(runtime)

        assert response.status_code == 200
        run = await get_run(api, tokens, started["id"])
        assert run["status"] == "cancelled"
        assert statuses(run) == {"build": "success", "ok": "cancelled", "ship": "cancelled"}

    async def test_cancelling_one_step_ends_that_step(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator"))
        started = await trigger(api, tokens, "gated")
        await work(runtime)

        response = await api.post(
            f"/api/pipeline-runs/{started['id']}/steps/ok/cancel",
            headers=bearer(tokens[Role.OPERATOR]),
        )
        await work(runtime)

        assert response.status_code == 200
        run = await get_run(api, tokens, started["id"])
        assert statuses(run)["ok"] == "cancelled"
        assert run["status"] in {"cancelled", "failure"}

    async def test_rerun_of_failed_steps_reuses_the_steps_that_succeeded(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime, tmp_path: Path
    ) -> None:
        # Steps see the host only through the sandbox: share one read-only folder.
        shared = tmp_path / "shared"
        shared.mkdir()
        runtime.settings.sandbox_read_only_paths = [shared]
        ready = shared / "ready"
        steps = [
            shell("build", 'echo "id=b1" >> "$ORCHESTRATE_OUTPUT"'),
            shell("test", f"test -f {ready}", needs="build"),
        ]
        await register(api, tokens, pipeline_yaml("flaky", steps))
        first = await trigger(api, tokens, "flaky")
        await work(runtime)
        ready.touch()

        response = await api.post(
            f"/api/pipeline-runs/{first['id']}/rerun",
            json={"failed": True},
            headers=bearer(tokens[Role.OPERATOR]),
        )
        await work(runtime)

        assert response.status_code == 201, response.text
        assert (await get_run(api, tokens, first["id"]))["status"] == "failure"
        again = await get_run(api, tokens, response.json()["id"])
        assert again["status"] == "success"
        assert again["rerun_of"] == first["id"]
        build = again["steps"][0]
        assert (build["status"], build["outputs"]) == ("success", {"id": "b1"})
        assert build["reused_from"] is not None

    async def test_rerunning_an_unfinished_run_is_a_conflict(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator"))
        started = await trigger(api, tokens, "gated")
        await work(runtime)

        response = await api.post(
            f"/api/pipeline-runs/{started['id']}/rerun", headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 409
        assert "cancel it or wait" in response.json()["detail"]


class TestApprovals:
    async def test_only_a_named_approver_may_approve_and_the_run_then_goes_on(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator"))
        started = await trigger(api, tokens, "gated")
        await work(runtime)
        assert (await get_run(api, tokens, started["id"]))["status"] == "waiting"

        refused = await decide(api, tokens[Role.ADMIN], started["id"], "ok")
        approved = await decide(api, tokens[Role.OPERATOR], started["id"], "ok", comment="lgtm")
        await work(runtime)

        assert refused.status_code == 403
        assert "test-operator" in refused.json()["detail"]
        assert approved.status_code == 200, approved.text
        run = await get_run(api, tokens, started["id"])
        assert run["status"] == "success"
        (decision,) = run["steps"][1]["approvals"]
        assert (decision["by"], decision["decision"], decision["comment"]) == (
            "test-operator",
            "approve",
            "lgtm",
        )

    async def test_an_approver_decides_only_once(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator", "test-admin", required=2))
        started = await trigger(api, tokens, "gated")
        await work(runtime)

        first = await decide(api, tokens[Role.OPERATOR], started["id"], "ok")
        second = await decide(api, tokens[Role.OPERATOR], started["id"], "ok")

        assert first.status_code == 200
        assert second.status_code == 409
        assert "already decided" in second.json()["detail"]
        assert (await get_run(api, tokens, started["id"]))["status"] == "waiting"

    async def test_pending_approvals_are_listed_for_their_approvers_only(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator"))
        started = await trigger(api, tokens, "gated")
        await work(runtime)

        mine = await api.get("/api/approvals", headers=bearer(tokens[Role.OPERATOR]))
        theirs = await api.get("/api/approvals", headers=bearer(tokens[Role.ADMIN]))

        (pending,) = mine.json()["items"]
        assert (pending["run_id"], pending["pipeline"], pending["step"]) == (
            started["id"],
            "gated",
            "ok",
        )
        assert pending["approvers"] == ["test-operator"]
        assert theirs.json() == {"items": [], "next_cursor": None}

    async def test_a_rejection_fails_the_run_with_the_comment(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, approval_yaml("test-operator"))
        started = await trigger(api, tokens, "gated")
        await work(runtime)

        response = await decide(
            api, tokens[Role.OPERATOR], started["id"], "ok", "reject", comment="not today"
        )
        await work(runtime)

        assert response.status_code == 200
        run = await get_run(api, tokens, started["id"])
        assert run["status"] == "failure"
        assert "not today" in run["steps"][1]["error"]
        assert run["steps"][2]["status"] == "skipped"
        listed = await api.get("/api/approvals", headers=bearer(tokens[Role.OPERATOR]))
        assert listed.json()["items"] == []


def parse_sse(text: str) -> list[Json]:
    """Each event of a Server-Sent Events body as ``{"id", "event", "data"}``."""
    events = []
    for block in text.split("\n\n"):
        fields: Json = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = json.loads(value) if name == "data" else value
        if fields:
            events.append(fields)
    return events


class TestLogs:
    async def test_the_logs_are_each_step_file_under_a_header_in_step_order(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, chain_yaml())
        started = await trigger(api, tokens, "chain")
        await work(runtime)

        response = await api.get(
            f"/api/pipeline-runs/{started['id']}/logs", headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        headers = [line for line in text.splitlines() if line.startswith("==> ")]
        assert headers == ["==> step build <==", "==> step test <==", "==> step ship <=="]
        assert text.index("build done") < text.index("test done") < text.index("ship done")

    async def test_the_logs_of_one_step_leave_out_the_others(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, chain_yaml())
        started = await trigger(api, tokens, "chain")
        await work(runtime)

        response = await api.get(
            f"/api/pipeline-runs/{started['id']}/logs",
            params={"step": "test"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert "test done" in response.text
        assert "build done" not in response.text

    async def test_the_logs_of_a_matrix_step_are_those_of_its_instances(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        steps = [
            shell(
                "test", 'echo "python ${{ matrix.python }}"', matrix={"python": ["3.11", "3.12"]}
            ),
            shell("ship", "echo shipped", needs="test"),
        ]
        await register(api, tokens, pipeline_yaml("matrix", steps))
        started = await trigger(api, tokens, "matrix")
        await work(runtime)

        response = await api.get(
            f"/api/pipeline-runs/{started['id']}/logs",
            params={"step": "test"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        headers = [line for line in response.text.splitlines() if line.startswith("==> ")]
        assert len(headers) == 2
        assert all(header.startswith("==> step test[") for header in headers)
        assert "python 3.11" in response.text
        assert "python 3.12" in response.text
        assert "shipped" not in response.text

    async def test_logs_of_an_unknown_step_are_a_404_naming_the_steps(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await register(api, tokens, chain_yaml())
        started = await trigger(api, tokens, "chain")

        response = await api.get(
            f"/api/pipeline-runs/{started['id']}/logs",
            params={"step": "tset"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert response.status_code == 404
        assert "build, test, ship" in response.json()["detail"]

    async def test_following_streams_status_and_log_events_live_then_the_end(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, chain_yaml())
        started = await trigger(api, tokens, "chain")

        follow = asyncio.create_task(
            api.get(
                f"/api/pipeline-runs/{started['id']}/logs",
                params={"follow": "true"},
                headers=bearer(tokens[Role.VIEWER]),
                timeout=60,
            )
        )
        await asyncio.sleep(0.5)
        await work(runtime)
        response = await asyncio.wait_for(follow, 30)

        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.text)
        logs = [e["data"] for e in events if e["event"] == "log"]
        assert any("test done" in line for log in logs for line in log["lines"])
        assert {log["step"] for log in logs} == {"build", "test", "ship"}
        changes = [
            (e["data"]["type"], e["data"].get("step")) for e in events if e["event"] == "status"
        ]
        assert ("pipeline.step.success", "ship") in changes
        assert ("pipeline.run.success", None) in changes
        assert events[-1]["event"] == "end"
        assert events[-1]["data"]["status"] == "success"
        ids = [int(e["id"]) for e in events if "id" in e]
        assert ids == sorted(ids)

    async def test_following_one_step_and_resuming_after_an_event_id(
        self, api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime
    ) -> None:
        await register(api, tokens, chain_yaml())
        started = await trigger(api, tokens, "chain")
        await work(runtime)
        url = f"/api/pipeline-runs/{started['id']}/logs"
        viewer = bearer(tokens[Role.VIEWER])

        everything = parse_sse((await api.get(url, params={"follow": "true"}, headers=viewer)).text)
        only_test = parse_sse(
            (await api.get(url, params={"follow": "true", "step": "test"}, headers=viewer)).text
        )
        cut = int(everything[2]["id"])
        resumed = parse_sse(
            (
                await api.get(
                    url, params={"follow": "true"}, headers={**viewer, "Last-Event-ID": str(cut)}
                )
            ).text
        )

        steps = {e["data"].get("step") for e in only_test if e["event"] != "end"}
        assert steps <= {"test", None}
        assert "test" in steps
        assert [e.get("id") for e in resumed] == [e.get("id") for e in everything[3:]]
