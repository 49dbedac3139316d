"""``/api/secrets``: admins only, values go in and never come out, errors are problems."""

from __future__ import annotations

import httpx

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.secrets import service as secrets
from tests.support import bearer


async def test_an_admin_sets_lists_and_deletes_a_secret(
    api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
) -> None:
    admin = bearer(tokens[Role.ADMIN])

    created = await api.put("/api/secrets/deploy_token", json={"value": "v4lue-1"}, headers=admin)
    updated = await api.put("/api/secrets/DEPLOY_TOKEN", json={"value": "v4lue-2"}, headers=admin)
    listed = await api.get("/api/secrets", headers=admin)

    assert created.status_code == 201, created.text
    assert updated.status_code == 200
    assert [s["name"] for s in listed.json()["items"]] == ["DEPLOY_TOKEN"]
    assert set(listed.json()["items"][0]) == {"name", "created_at", "updated_at"}
    assert "v4lue" not in created.text + updated.text + listed.text
    values = await secrets.get_secret_values(runtime.uow(), runtime.settings, ["DEPLOY_TOKEN"])
    assert values == {"DEPLOY_TOKEN": "v4lue-2"}

    deleted = await api.delete("/api/secrets/DEPLOY_TOKEN", headers=admin)
    assert deleted.status_code == 204
    assert (await api.get("/api/secrets", headers=admin)).json()["items"] == []


async def test_operators_and_viewers_get_403(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    for role in (Role.OPERATOR, Role.VIEWER):
        headers = bearer(tokens[role])
        for response in (
            await api.get("/api/secrets", headers=headers),
            await api.put("/api/secrets/X_TOKEN", json={"value": "v4lue"}, headers=headers),
            await api.delete("/api/secrets/X_TOKEN", headers=headers),
            await api.post("/api/secrets/rotate-key", headers=headers),
        ):
            assert response.status_code == 403, (role, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_missing_secret_is_a_404_problem(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    response = await api.delete("/api/secrets/NOPE", headers=bearer(tokens[Role.ADMIN]))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "NOPE" in response.json()["detail"]


async def test_a_bad_name_or_an_empty_value_is_a_422_problem(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    for response in (
        await api.put("/api/secrets/1-bad", json={"value": "v4lue"}, headers=admin),
        await api.put("/api/secrets/GOOD", json={"value": ""}, headers=admin),
        await api.put("/api/secrets/GOOD", json={}, headers=admin),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_rotating_the_key_over_the_api_keeps_secrets_readable(
    api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    await api.put("/api/secrets/TOKEN", json={"value": "v4lue"}, headers=admin)

    response = await api.post("/api/secrets/rotate-key", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["re_encrypted"] == 1
    values = await secrets.get_secret_values(runtime.uow(), runtime.settings, ["TOKEN"])
    assert values == {"TOKEN": "v4lue"}
