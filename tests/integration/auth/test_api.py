"""Authentication, roles, tokens and the audit log over HTTP."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from orchestrate.app.http import create_app
from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.support import bearer, issue_token

CLIENT_ADDRESS = "203.0.113.7"  # the address the `api` fixture's requests come from
MUTATING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def mutation_routes(runtime: Runtime) -> list[tuple[str, str]]:
    """Every (method, path) under /api that changes something, read from its OpenAPI schema.

    Routes outside /api (the GitHub webhook receiver) authenticate by signature, not token.
    """
    paths = create_app(runtime).openapi()["paths"]
    routes = []
    for template, operations in paths.items():
        if not template.startswith("/api/"):
            continue
        path = re.sub(r"\{[^}]+\}", "x1", template)
        routes += [(m.upper(), path) for m in operations if m.upper() in MUTATING_METHODS]
    return routes


class TestAuthentication:
    @pytest.mark.parametrize("path", ["/api/tokens", "/api/audit", "/api/jobs", "/api/jobs/x1"])
    async def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(
        self, api: httpx.AsyncClient, path: str
    ) -> None:
        response = await api.get(path)

        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in body["detail"]

    @pytest.mark.parametrize(
        "header",
        ["Bearer orc_not_a_real_token", "Bearer ", "Basic dXNlcjpwYXNz", "orc_no_scheme", "Bearer"],
    )
    async def test_a_bad_authorization_header_gets_401(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], header: str
    ) -> None:
        response = await api.get("/api/audit", headers={"Authorization": header})

        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_revoked_token_gets_401(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        secret = await issue_token(runtime, "soon-gone", Role.ADMIN)
        admin = bearer(tokens[Role.ADMIN])
        assert (await api.get("/api/audit", headers=bearer(secret))).status_code == 200

        assert (await api.delete("/api/tokens/soon-gone", headers=admin)).status_code == 200

        assert_problem(await api.get("/api/audit", headers=bearer(secret)), 401)

    async def test_health_needs_no_token(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/health")).status_code == 200

    async def test_a_mutation_without_a_token_gets_401_and_is_not_audited(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post("/api/tokens", json={"name": "x", "role": "admin"})

        assert_problem(response, 401)
        audit = await api.get("/api/audit", headers=bearer(tokens[Role.VIEWER]))
        assert [r["details"]["name"] for r in audit.json()["items"]] == [
            "test-viewer",
            "test-operator",
            "test-admin",
        ]


class TestRoles:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/api/tokens", {"name": "x", "role": "viewer"}),
            ("DELETE", "/api/tokens/test-admin", None),
            ("POST", "/api/jobs/job_x/retry", None),
            ("POST", "/api/jobs/job_x/cancel", None),
        ],
    )
    async def test_a_viewer_gets_403_on_a_mutation(
        self,
        api: httpx.AsyncClient,
        tokens: dict[Role, str],
        method: str,
        path: str,
        body: dict[str, str] | None,
    ) -> None:
        response = await api.request(method, path, json=body, headers=bearer(tokens[Role.VIEWER]))

        problem = assert_problem(response, 403)
        assert problem["role"] == "viewer"
        assert problem["permission"] == "write"

    async def test_a_viewer_gets_403_on_every_mutation_route_of_the_api(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        routes = mutation_routes(runtime)
        assert {m for m, _ in routes} >= {"POST", "DELETE"}

        statuses = {
            (method, path): (
                await api.request(method, path, json={}, headers=bearer(tokens[Role.VIEWER]))
            ).status_code
            for method, path in routes
        }

        assert set(statuses.values()) == {403}, statuses

    @pytest.mark.parametrize(("method", "path"), [("GET", "/api/audit"), ("GET", "/api/jobs")])
    async def test_a_viewer_may_read(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], method: str, path: str
    ) -> None:
        response = await api.request(method, path, headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/api/tokens", None),
            ("POST", "/api/tokens", {"name": "x", "role": "admin"}),
            ("DELETE", "/api/tokens/test-viewer", None),
        ],
    )
    async def test_an_operator_gets_403_on_the_admin_only_token_routes(
        self,
        api: httpx.AsyncClient,
        tokens: dict[Role, str],
        method: str,
        path: str,
        body: dict[str, str] | None,
    ) -> None:
        response = await api.request(method, path, json=body, headers=bearer(tokens[Role.OPERATOR]))

        problem = assert_problem(response, 403)
        assert problem["permission"] == "admin"

    async def test_an_operator_cannot_escalate_and_nothing_changes(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        await api.post(
            "/api/tokens",
            json={"name": "mine", "role": "admin"},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        listed = await api.get("/api/tokens", headers=bearer(tokens[Role.ADMIN]))
        assert "mine" not in [t["name"] for t in listed.json()["items"]]


class TestTokensOverHttp:
    async def test_an_admin_creates_a_token_that_works_at_once(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens",
            json={"name": "ci-bot", "role": "operator"},
            headers=bearer(tokens[Role.ADMIN]),
        )

        assert response.status_code == 201
        created = response.json()
        assert (created["name"], created["role"]) == ("ci-bot", "operator")
        assert created["token"].startswith(created["token_prefix"])
        assert created["created_by"] == "token:test-admin"
        check = await api.get("/api/jobs", headers=bearer(created["token"]))
        assert check.status_code == 200

    async def test_the_role_defaults_to_viewer(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens", json={"name": "reader"}, headers=bearer(tokens[Role.ADMIN])
        )

        assert response.json()["role"] == "viewer"

    async def test_listed_tokens_never_show_their_secrets(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.get("/api/tokens", headers=bearer(tokens[Role.ADMIN]))

        assert response.status_code == 200
        assert [t["name"] for t in response.json()["items"]] == [
            "test-viewer",
            "test-operator",
            "test-admin",
        ]
        assert all("token" not in t for t in response.json()["items"])
        assert not any(secret in response.text for secret in tokens.values())

    async def test_revoked_tokens_are_listed_only_on_request(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])

        revoked = await api.delete("/api/tokens/test-viewer", headers=admin)

        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        active = await api.get("/api/tokens", headers=admin)
        everything = await api.get("/api/tokens?include_revoked=true", headers=admin)
        assert "test-viewer" not in [t["name"] for t in active.json()["items"]]
        assert "test-viewer" in [t["name"] for t in everything.json()["items"]]

    async def test_a_duplicate_name_is_a_409_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens", json={"name": "test-viewer"}, headers=bearer(tokens[Role.ADMIN])
        )

        problem = assert_problem(response, 409)
        assert problem["name"] == "test-viewer"

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "has space"},
            {"name": ""},
            {"name": "x" * 101},
            {"name": "ok", "role": "root"},
            {"role": "viewer"},
            {"name": "ok", "extra": 1},
            {"name": 12},
        ],
    )
    async def test_an_invalid_token_request_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], body: dict[str, Any]
    ) -> None:
        response = await api.post("/api/tokens", json=body, headers=bearer(tokens[Role.ADMIN]))

        assert_problem(response, 422)

    async def test_revoking_an_unknown_name_is_a_404_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.delete("/api/tokens/ghost", headers=bearer(tokens[Role.ADMIN]))

        problem = assert_problem(response, 404)
        assert problem["instance"] == "/api/tokens/ghost"


class TestAuditOverHttp:
    async def test_a_mutation_is_audited_with_the_token_and_the_client_address(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        created = await api.post(
            "/api/tokens", json={"name": "ci-bot"}, headers=bearer(tokens[Role.ADMIN])
        )

        response = await api.get("/api/audit?limit=1", headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 200
        [record] = response.json()["items"]
        assert record["actor"] == "token:test-admin"
        assert record["action"] == "token.create"
        assert record["subject"] == created.json()["id"]
        assert record["source"] == CLIENT_ADDRESS
        assert record["created_at"].endswith(("Z", "+00:00"))

    async def test_pages_are_walked_with_next_cursor(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        for n in range(4):
            await api.post("/api/tokens", json={"name": f"bot{n}"}, headers=admin)

        names: list[str] = []
        url = "/api/audit?limit=3"
        while True:
            page = (await api.get(url, headers=admin)).json()
            names += [r["details"]["name"] for r in page["items"]]
            if page["next_cursor"] is None:
                break
            url = f"/api/audit?limit=3&cursor={page['next_cursor']}"

        assert names == [
            "bot3",
            "bot2",
            "bot1",
            "bot0",
            "test-viewer",
            "test-operator",
            "test-admin",
        ]

    async def test_records_can_be_filtered(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        created = (await api.post("/api/tokens", json={"name": "ci"}, headers=admin)).json()
        await api.delete("/api/tokens/ci", headers=admin)

        by_action = await api.get("/api/audit?action=token.revoke", headers=admin)
        by_actor = await api.get("/api/audit?actor=token:test-admin", headers=admin)
        by_subject = await api.get(f"/api/audit?subject={created['id']}", headers=admin)

        assert [r["action"] for r in by_action.json()["items"]] == ["token.revoke"]
        assert [r["action"] for r in by_actor.json()["items"]] == ["token.revoke", "token.create"]
        assert [r["action"] for r in by_subject.json()["items"]] == ["token.revoke", "token.create"]

    @pytest.mark.parametrize("query", ["cursor=bogus", "limit=0", "limit=501", "limit=ten"])
    async def test_bad_paging_parameters_are_a_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], query: str
    ) -> None:
        response = await api.get(f"/api/audit?{query}", headers=bearer(tokens[Role.VIEWER]))

        assert_problem(response, 422)

    async def test_a_refused_mutation_writes_no_audit_record(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        await api.delete("/api/tokens/test-admin", headers=bearer(tokens[Role.VIEWER]))
        await api.delete("/api/tokens/ghost", headers=bearer(tokens[Role.ADMIN]))

        response = await api.get("/api/audit", headers=bearer(tokens[Role.ADMIN]))

        assert {r["action"] for r in response.json()["items"]} == {"token.create"}
