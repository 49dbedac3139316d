"""``/api/security``: recorded scans, findings and reports over HTTP."""

from __future__ import annotations

import json

import httpx

from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.security import service
from orchestrate.security.models import Category, Severity
from tests.integration.security.test_records import a_report
from tests.support import bearer
from tests.unit.security.sarif_schema import assert_valid_sarif

Tokens = dict[Role, str]


async def test_a_viewer_reads_scans_findings_and_reports(
    runtime: Runtime, admin: Actor, api: httpx.AsyncClient, tokens: Tokens
) -> None:
    scan = await service.record_scan(
        runtime.uow(), a_report(runtime), actor=admin, source="cli", repository="acme/shop"
    )
    viewer = bearer(tokens[Role.VIEWER])

    listed = await api.get("/api/security/scans", headers=viewer)
    shown = await api.get(f"/api/security/scans/{scan.id}", headers=viewer)
    latest = await api.get(
        "/api/security/findings", params={"severity": "high", "state": "new"}, headers=viewer
    )
    by_scan = await api.get(
        "/api/security/findings",
        params={"scan": scan.id, "state": "baselined"},
        headers=viewer,
    )
    sarif = await api.get(f"/api/security/scans/{scan.id}/report", headers=viewer)
    markdown = await api.get(
        f"/api/security/scans/{scan.id}/report", params={"format": "md"}, headers=viewer
    )

    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()["items"]] == [scan.id]
    assert shown.json()["failing"] == 2
    assert shown.json()["passed"] is False
    assert [f["rule_id"] for f in latest.json()["items"]] == [
        "secrets/github-pat",
        "license/denied",
    ]
    assert [f["rule_id"] for f in by_scan.json()["items"]] == ["bandit/B602"]
    one = latest.json()["items"][0]
    single = await api.get(f"/api/security/findings/{one['id']}", headers=viewer)
    assert single.json() == one
    assert sarif.headers["content-type"].startswith("application/sarif+json")
    assert_valid_sarif(json.loads(sarif.text))
    assert markdown.text.startswith("# Security scan")


async def test_unknown_things_are_problem_responses(api: httpx.AsyncClient, tokens: Tokens) -> None:
    viewer = bearer(tokens[Role.VIEWER])

    no_scan_yet = await api.get("/api/security/findings", headers=viewer)
    unknown = await api.get("/api/security/scans/scan_nope", headers=viewer)
    bad_format = await api.get(
        "/api/security/scans/scan_nope/report", params={"format": "pdf"}, headers=viewer
    )
    both = await api.get(
        "/api/security/findings", params={"scan": "x", "repository": "y"}, headers=viewer
    )

    assert no_scan_yet.status_code == 404
    assert no_scan_yet.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
    assert bad_format.status_code == 422
    assert both.status_code == 422


async def test_scans_filter_by_status_and_the_gates_verdict(
    runtime: Runtime, admin: Actor, api: httpx.AsyncClient, tokens: Tokens
) -> None:
    failed = await service.record_scan(
        runtime.uow(), a_report(runtime), actor=admin, source="cli", repository="acme/shop"
    )
    passed = await service.record_scan(
        runtime.uow(), a_report(runtime, new=()), actor=admin, source="cli"
    )
    async with runtime.uow() as uow:
        queued = await service.queue_scan(
            uow,
            root="/src/shop",
            repository="acme/shop",
            categories=frozenset(Category),
            fail_on=Severity.HIGH,
            actor=admin,
            source="api",
        )
        await uow.commit()
    viewer = bearer(tokens[Role.VIEWER])

    async def ids(**params: str) -> set[str]:
        answer = await api.get("/api/security/scans", params=params, headers=viewer)
        assert answer.status_code == 200, answer.text
        return {s["id"] for s in answer.json()["items"]}

    bad = await api.get("/api/security/scans", params={"gate": "maybe"}, headers=viewer)

    assert await ids() == {failed.id, passed.id, queued.id}
    assert await ids(gate="passed") == {passed.id}  # a queued scan has no verdict yet
    assert await ids(gate="failed") == {failed.id}
    assert await ids(status="queued") == {queued.id}
    assert await ids(status="completed", repository="acme/shop") == {failed.id}
    assert bad.status_code == 422
