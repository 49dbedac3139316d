"""``/api/monitoring/alerts``, ``/silences`` and ``/alert-rules`` over HTTP."""

from __future__ import annotations

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.alerts import service
from orchestrate.pipelines.events import RunFailed
from tests.support import bearer

Tokens = dict[Role, str]

RULES = """
rules:
  - name: pipeline-failures
    metric: pipeline_runs_failed
    window: 5m
    condition: "> 0"
    severity: critical
    labels: {team: platform}
    annotations: {summary: "Pipelines are failing"}
"""


async def firing(runtime: Runtime, api: httpx.AsyncClient, tokens: Tokens) -> str:
    applied = await api.post(
        "/api/monitoring/alert-rules",
        json={"source": "team", "yaml": RULES},
        headers=bearer(tokens[Role.OPERATOR]),
    )
    assert applied.status_code == 200, applied.text
    async with runtime.uow() as uow:
        record_event(uow, RunFailed(subject="run_1", pipeline="deploy", from_="running"))
        await uow.commit()
    await service.evaluate(runtime)
    listed = await api.get(
        "/api/monitoring/alerts", params={"state": "firing"}, headers=bearer(tokens[Role.VIEWER])
    )
    (alert,) = listed.json()["items"]
    return str(alert["id"])


async def test_rules_applied_over_http_fire_and_are_listed(
    runtime: Runtime, api: httpx.AsyncClient, tokens: Tokens
) -> None:
    alert_id = await firing(runtime, api, tokens)

    one = await api.get(f"/api/monitoring/alerts/{alert_id}", headers=bearer(tokens[Role.VIEWER]))
    rules = await api.get("/api/monitoring/alert-rules", headers=bearer(tokens[Role.VIEWER]))

    body = one.json()
    assert body["state"] == "firing"
    assert body["labels"] == {
        "alertname": "pipeline-failures",
        "severity": "critical",
        "team": "platform",
    }
    assert body["annotations"] == {"summary": "Pipelines are failing"}
    (rule,) = [r for r in rules.json()["items"] if r["source"] != "builtin"]
    assert (rule["name"], rule["source"], rule["window"], rule["for"]) == (
        "pipeline-failures",
        "team",
        "5m",
        "0s",
    )


async def test_an_operator_acknowledges_and_a_viewer_may_not(
    runtime: Runtime, api: httpx.AsyncClient, tokens: Tokens
) -> None:
    alert_id = await firing(runtime, api, tokens)

    refused = await api.post(
        f"/api/monitoring/alerts/{alert_id}/ack", headers=bearer(tokens[Role.VIEWER])
    )
    acked = await api.post(
        f"/api/monitoring/alerts/{alert_id}/ack", headers=bearer(tokens[Role.OPERATOR])
    )
    missing = await api.post(
        "/api/monitoring/alerts/alr_nope/ack", headers=bearer(tokens[Role.OPERATOR])
    )

    assert refused.status_code == 403
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"]
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_silences_are_created_listed_and_ended(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    operator = bearer(tokens[Role.OPERATOR])
    created = await api.post(
        "/api/monitoring/silences",
        json={
            "matchers": ["team=platform", 'alertname=~"pipeline-.*"'],
            "duration": "2h",
            "comment": "deploy",
        },
        headers=operator,
    )
    listed = await api.get("/api/monitoring/silences", headers=bearer(tokens[Role.VIEWER]))

    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["matchers"] == ["team=platform", "alertname=~pipeline-.*"]
    assert silence["state"] == "active"
    assert [s["id"] for s in listed.json()["items"]] == [silence["id"]]

    ended = await api.delete(f"/api/monitoring/silences/{silence['id']}", headers=operator)
    assert ended.status_code == 204
    assert (await api.get("/api/monitoring/silences", headers=operator)).json()["items"] == []
    everything = await api.get(
        "/api/monitoring/silences", params={"include_expired": "true"}, headers=operator
    )
    assert [s["state"] for s in everything.json()["items"]] == ["expired"]


@pytest.mark.parametrize(
    "body",
    [
        {"matchers": [], "duration": "1h"},
        {"matchers": ["team"], "duration": "1h"},
        {"matchers": ["team=~("], "duration": "1h"},
        {"matchers": ["team=a"], "duration": "soon"},
        {"matchers": ["team=a"], "duration": "0s"},
        {"matchers": ["team=a"], "duration": "1h", "colour": "red"},
    ],
)
async def test_a_silence_that_means_nothing_is_a_422(
    api: httpx.AsyncClient, tokens: Tokens, body: dict[str, object]
) -> None:
    response = await api.post(
        "/api/monitoring/silences", json=body, headers=bearer(tokens[Role.OPERATOR])
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_bad_rules_file_is_a_422_naming_the_problem_and_nothing_changes(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    operator = bearer(tokens[Role.OPERATOR])
    bad = RULES.replace("pipeline_runs_failed", "pipeline_runs_exploded")

    response = await api.post(
        "/api/monitoring/alert-rules", json={"source": "team", "yaml": bad}, headers=operator
    )

    assert response.status_code == 422
    assert "unknown metric 'pipeline_runs_exploded'" in response.json()["detail"]
    rules = (await api.get("/api/monitoring/alert-rules", headers=operator)).json()["items"]
    assert {rule["source"] for rule in rules} == {"builtin"}


async def test_removing_a_source_and_one_that_applied_nothing(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    operator = bearer(tokens[Role.OPERATOR])
    await api.post(
        "/api/monitoring/alert-rules", json={"source": "team", "yaml": RULES}, headers=operator
    )

    removed = await api.delete(
        "/api/monitoring/alert-rules", params={"source": "team"}, headers=operator
    )
    again = await api.delete(
        "/api/monitoring/alert-rules", params={"source": "team"}, headers=operator
    )

    assert removed.status_code == 204
    assert again.status_code == 404
