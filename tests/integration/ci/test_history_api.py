"""``/api/ci/test-results``, ``/api/ci/flaky``, ``/api/ci/quarantine`` and
``/api/ci/analysis`` over HTTP."""

from __future__ import annotations

import httpx

from orchestrate.auth.models import Role
from tests.integration.ci.history_rows import sha
from tests.integration.ci.reports import junit
from tests.support import bearer

Tokens = dict[Role, str]
XML = {"Content-Type": "application/xml"}


async def post_report(
    api: httpx.AsyncClient,
    token: str,
    body: str,
    *,
    tree: int = 1,
    attempt: int = 1,
    repo: str = "acme/shop",
) -> httpx.Response:
    return await api.post(
        "/api/ci/test-results",
        params={"repo": repo, "sha": sha(tree), "attempt": attempt, "format": "junit"},
        content=body.encode(),
        headers={**bearer(token), **XML},
    )


class TestRecording:
    async def test_a_new_report_is_created_and_the_same_again_replaces_it(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        body = junit(("test_total", "failed"), ("test_ok", "passed"), ("test_net", "skipped"))

        first = await post_report(api, tokens[Role.OPERATOR], body)
        again = await post_report(api, tokens[Role.OPERATOR], body)

        assert first.status_code == 201, first.text
        assert first.json() | {"replaced": None} == {
            "repository": "acme/shop",
            "tree_sha": sha(1),
            "attempt": 1,
            "tests": 3,
            "passed": 1,
            "failed": 1,
            "skipped": 1,
            "replaced": None,
            "quarantined": [],
            "released": [],
        }
        assert first.json()["replaced"] == 0
        assert again.status_code == 200
        assert again.json()["replaced"] == 3

    async def test_a_viewer_may_not_record(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        response = await post_report(api, tokens[Role.VIEWER], junit(("t", "passed")))

        assert response.status_code == 403

    async def test_a_malformed_report_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await post_report(api, tokens[Role.OPERATOR], "<testsuites><testcase")

        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "The XML report is malformed" in response.json()["detail"]

    async def test_a_report_with_a_dtd_is_refused(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        hostile = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites/>'

        response = await post_report(api, tokens[Role.OPERATOR], hostile)

        assert response.status_code == 422

    async def test_a_short_sha_is_a_422_naming_the_field(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/ci/test-results",
            params={"repo": "acme/shop", "sha": "abc1234"},
            content=junit(("t", "passed")).encode(),
            headers={**bearer(tokens[Role.OPERATOR]), **XML},
        )

        assert response.status_code == 422
        assert "not a git tree SHA" in response.json()["detail"]


class TestReading:
    async def test_flaky_tests_come_as_a_page_naming_the_shas(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        operator = tokens[Role.OPERATOR]
        for name in ("test_a", "test_b", "test_c"):
            await post_report(api, operator, junit((name, "failed")), tree=1)
            await post_report(api, operator, junit((name, "passed")), tree=1, attempt=2)
        # each report adds its test to the run of tree 1 (as the shards of a matrix would)
        await post_report(api, operator, junit(("test_a", "failed"), ("test_a", "passed")), tree=2)
        await post_report(api, operator, junit(("test_b", "failed"), ("test_b", "passed")), tree=3)

        first = await api.get(
            "/api/ci/flaky", params={"limit": 2}, headers=bearer(tokens[Role.VIEWER])
        )
        rest = await api.get(
            "/api/ci/flaky",
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert first.status_code == 200, first.text
        tests = [item["test"] for item in first.json()["items"] + rest.json()["items"]]
        assert tests == [
            "tests.test_shop::test_a",
            "tests.test_shop::test_b",
            "tests.test_shop::test_c",
        ]
        assert first.json()["items"][0]["flaky_shas"] == [sha(2), sha(1)]
        assert first.json()["items"][0]["repository_runs"] == 4
        assert rest.json()["next_cursor"] is None

    async def test_an_unknown_repository_is_a_404(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/ci/flaky", params={"repo": "acme/nope"}, headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 404
        assert "No test history for repository 'acme/nope'" in response.json()["detail"]

    async def test_a_bad_window_is_a_422(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        response = await api.get(
            "/api/ci/flaky", params={"window": "soon"}, headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 422

    async def test_the_quarantine_is_an_empty_page_at_first(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get("/api/ci/quarantine", headers=bearer(tokens[Role.VIEWER]))

        assert response.json() == {"items": [], "next_cursor": None}


class TestAnalysis:
    async def test_a_viewer_may_not_have_a_report_analysed(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/ci/analysis",
            params={"repo": "acme/shop", "sha": sha(2), "format": "junit"},
            content=junit(("test_total", "failed")).encode(),
            headers={**bearer(tokens[Role.VIEWER]), **XML},
        )

        assert response.status_code == 403

    async def test_the_analysis_of_a_report_has_groups_and_a_brief(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        await post_report(api, tokens[Role.OPERATOR], junit(("test_total", "passed")), tree=1)

        response = await api.post(
            "/api/ci/analysis",
            params={"repo": "acme/shop", "sha": sha(2), "format": "junit"},
            content=junit(("test_total", "failed")).encode(),
            headers={**bearer(tokens[Role.OPERATOR]), **XML},
        )

        assert response.status_code == 200, response.text
        [group] = response.json()["groups"]
        assert (group["cause"], group["last_passing_sha"], group["first_failing_sha"]) == (
            "new",
            sha(1),
            sha(2),
        )
        assert group["signature"] == "AssertionError: assert <n> == <n>"
        assert response.json()["next_action"] == "fix"
        assert response.json()["brief"].startswith("# CI failures of acme/shop")
