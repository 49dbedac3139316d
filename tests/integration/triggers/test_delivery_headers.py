"""A stored delivery keeps GitHub's headers and never a credential a proxy added."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import update

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.triggers.tables import WebhookDeliveryRow
from tests.integration.triggers.test_receiver import URL, github_headers
from tests.integration.triggers.test_receiver import settings as settings  # the signing secret
from tests.support import bearer

CREDENTIALS = {
    "Authorization": "Bearer proxy-token",
    "Proxy-Authorization": "Basic dXNlcjpwYXNz",
    "Cookie": "session=abc",
    "X-Api-Key": "key-123",
}


@pytest.fixture
async def delivered(api: httpx.AsyncClient) -> str:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    headers = {**github_headers(body, "push", delivery_id="d-headers"), **CREDENTIALS}
    response = await api.post(URL, content=body, headers=headers)
    assert response.status_code == 202, response.text
    return "d-headers"


async def _shown_headers(api: httpx.AsyncClient, tokens: dict[Role, str]) -> dict[str, str]:
    response = await api.get(
        "/api/webhooks/deliveries/d-headers", headers=bearer(tokens[Role.VIEWER])
    )
    assert response.status_code == 200, response.text
    headers: dict[str, str] = response.json()["headers"]
    return headers


async def test_only_githubs_own_headers_are_stored_and_shown_to_viewers(
    api: httpx.AsyncClient, tokens: dict[Role, str], delivered: str
) -> None:
    shown = await _shown_headers(api, tokens)

    assert set(shown) == {
        "accept",
        "content-length",
        "content-type",
        "user-agent",
        "x-github-event",
        "x-github-delivery",
        "x-github-hook-id",
    }


async def test_credentials_stored_before_the_allowlist_are_not_shown(
    api: httpx.AsyncClient, tokens: dict[Role, str], runtime: Runtime, delivered: str
) -> None:
    async with runtime.uow() as uow:
        await uow.session.execute(
            update(WebhookDeliveryRow).values(
                headers={"x-github-event": "push", "proxy-authorization": "Basic old"}
            )
        )
        await uow.commit()

    shown = await _shown_headers(api, tokens)

    assert shown == {"x-github-event": "push"}
