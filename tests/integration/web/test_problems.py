"""Every error leaves the API as RFC 9457 problem JSON; garbage input never causes a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from tests.support import bearer


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


def cursor_of(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class TestProblemShapes:
    async def test_401_is_a_problem_with_a_typed_uri_and_the_request_path(
        self, api: httpx.AsyncClient
    ) -> None:
        body = assert_problem(await api.get("/api/jobs"), 401)

        assert body["type"] == "urn:orchestrate:problem:authentication-failed"
        assert body["title"] == "Authentication required"
        assert body["instance"] == "/api/jobs"

    async def test_403_is_a_problem_naming_the_missing_permission(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.get("/api/tokens", headers=bearer(tokens[Role.VIEWER]))

        body = assert_problem(response, 403)
        assert body["type"] == "urn:orchestrate:problem:permission-denied"
        assert body["permission"] == "admin"

    @pytest.mark.parametrize("path", ["/api/nothing-here", "/nothing", "/api/jobs/x/y/z"])
    async def test_an_unknown_route_is_a_404_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], path: str
    ) -> None:
        response = await api.get(path, headers=bearer(tokens[Role.ADMIN]))

        body = assert_problem(response, 404)
        assert body["title"] == "Not Found"

    async def test_an_unknown_id_is_a_404_problem_naming_the_id(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.get("/api/jobs/job_doesnotexist", headers=bearer(tokens[Role.ADMIN]))

        body = assert_problem(response, 404)
        assert body["type"] == "urn:orchestrate:problem:not-found"
        assert body["job_id"] == "job_doesnotexist"

    async def test_a_wrong_method_is_a_405_problem_with_the_allowed_methods(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await api.put("/api/health")

        assert_problem(response, 405)
        assert "GET" in response.headers["allow"]

    async def test_malformed_json_is_a_422_problem_pointing_at_the_body(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens",
            content=b'{"name": "ci-bot", ',
            headers={**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"},
        )

        body = assert_problem(response, 422)
        assert body["type"] == "urn:orchestrate:problem:invalid-request"
        assert body["errors"][0]["loc"][0] == "body"

    async def test_wrong_types_are_a_422_problem_listing_every_field(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens",
            json={"name": ["a"], "role": "emperor"},
            headers=bearer(tokens[Role.ADMIN]),
        )

        body = assert_problem(response, 422)
        assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "name"), ("body", "role")}
        assert "body.name" in body["detail"]
        assert "body.role" in body["detail"]

    async def test_a_wrongly_typed_query_parameter_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.get("/api/jobs?limit=lots", headers=bearer(tokens[Role.ADMIN]))

        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["query", "limit"]

    async def test_a_conflict_is_a_409_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens", json={"name": "test-admin"}, headers=bearer(tokens[Role.ADMIN])
        )

        assert assert_problem(response, 409)["type"] == "urn:orchestrate:problem:conflict"


class TestGarbageInput:
    """Whatever a client sends, the answer is a 4xx problem, never a 500."""

    @pytest.mark.parametrize(
        "url",
        [
            "/api/audit?cursor=" + cursor_of({"n": 10**30}),
            "/api/audit?cursor=" + cursor_of({"n": -(10**30)}),
            "/api/audit?cursor=" + cursor_of({"n": True}),
            "/api/audit?cursor=" + cursor_of({"n": "1"}),
            "/api/audit?cursor=" + "W" * 5000,
            "/api/audit?cursor=%00",
            "/api/audit?limit=99999999999999999999999",
            "/api/audit?limit=-1",
            "/api/jobs?cursor=" + cursor_of({"t": "0001-01-01T00:00:00+14:00", "i": "a"}),
            "/api/jobs?cursor=" + cursor_of({"t": "not a time", "i": "a"}),
            "/api/jobs?status=exploded",
            "/api/tokens?include_revoked=perhaps",
        ],
    )
    async def test_garbage_query_parameters_are_a_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], url: str
    ) -> None:
        assert_problem(await api.get(url, headers=bearer(tokens[Role.ADMIN])), 422)

    @pytest.mark.parametrize(
        "url",
        [
            "/api/audit?actor=%00",
            "/api/audit?subject=%00evil",
            "/api/jobs?kind=%00",
            "/api/audit?action=" + "é" * 3000,
            "/api/audit?actor=%F0%9F%92%A9",
            "/api/jobs?cursor=" + cursor_of({"t": "2026-01-01T00:00:00+00:00", "i": "\x00"}),
        ],
    )
    async def test_odd_but_well_formed_filters_never_fail_the_server(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], url: str
    ) -> None:
        response = await api.get(url, headers=bearer(tokens[Role.ADMIN]))

        if response.status_code != 200:
            assert_problem(response, 422)
        else:
            assert response.json()["items"] == []

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/jobs/%00"),
            ("POST", "/api/jobs/%00/retry"),
            ("POST", "/api/jobs/%00/cancel"),
            ("DELETE", "/api/tokens/%00"),
            ("GET", "/api/jobs/" + "x" * 3000),
            ("DELETE", "/api/tokens/" + "x" * 3000),
            ("GET", "/api/jobs/%E2%80%AE"),
        ],
    )
    async def test_garbage_ids_are_a_404_or_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], method: str, path: str
    ) -> None:
        response = await api.request(method, path, headers=bearer(tokens[Role.ADMIN]))

        assert response.status_code in (404, 422), response.text
        assert_problem(response, response.status_code)

    @pytest.mark.parametrize(
        "content",
        [
            b"",
            b"null",
            b"[]",
            b"42",
            b'"text"',
            b"\xff\xfe\x00",
            b'{"name": "\\u0000"}',
            b'{"name": "ok", "role": null}',
            b"[" * 10_000,
            b'{"name": "' + b"a" * 100_000 + b'"}',
        ],
    )
    async def test_garbage_bodies_are_a_400_or_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str], content: bytes
    ) -> None:
        response = await api.post(
            "/api/tokens",
            content=content,
            headers={**bearer(tokens[Role.ADMIN]), "Content-Type": "application/json"},
        )

        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)

    async def test_a_body_in_another_media_type_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post(
            "/api/tokens",
            content=b"name=ci-bot",
            headers={**bearer(tokens[Role.ADMIN]), "Content-Type": "text/plain"},
        )

        assert_problem(response, 422)

    @pytest.mark.parametrize(
        "header", ["Bearer \x7f", "Bearer " + "A" * 10_000, "Bearer orc_\t", "bearer    x"]
    )
    async def test_garbage_credentials_are_a_401_problem(
        self, api: httpx.AsyncClient, header: str
    ) -> None:
        response = await api.get("/api/audit", headers={"Authorization": header})

        assert_problem(response, 401)
