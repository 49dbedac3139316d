"""``/api/monitoring/channels`` and ``/api/monitoring/notifications`` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orchestrate.core.identity import Role
from orchestrate.core.runtime import Runtime
from orchestrate.secrets import service as secret_store
from orchestrate.testing.fake_webhook import FakeWebhookReceiver, signature_matches
from tests.support import bearer

Tokens = dict[Role, str]
HOOK = {"name": "ops-hook", "type": "webhook", "url": "http://127.0.0.1:9000/alerts"}


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as fake:
        yield fake


async def test_an_admin_adds_a_webhook_and_gets_its_signing_key_once(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    admin = bearer(tokens[Role.ADMIN])

    added = await api.post("/api/monitoring/channels", json=HOOK, headers=admin)

    assert added.status_code == 201, added.text
    body = added.json()
    assert body["name"] == "ops-hook"
    assert body["target"] == "http://127.0.0.1:9000/alerts"
    assert body["secrets"] == {"signing_key": "NOTIFY_OPS_HOOK_SIGNING_KEY"}
    assert len(body["signing_key"]) == 64
    listed = await api.get("/api/monitoring/channels", headers=bearer(tokens[Role.VIEWER]))
    assert listed.status_code == 200
    assert [c["name"] for c in listed.json()["items"]] == ["ops-hook"]
    assert body["signing_key"] not in listed.text


async def test_a_viewer_and_an_operator_may_not_add_remove_or_test(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    await api.post("/api/monitoring/channels", json=HOOK, headers=bearer(tokens[Role.ADMIN]))

    for role in (Role.VIEWER, Role.OPERATOR):
        headers = bearer(tokens[role])
        add = await api.post(
            "/api/monitoring/channels", json={**HOOK, "name": "other"}, headers=headers
        )
        remove = await api.delete("/api/monitoring/channels/ops-hook", headers=headers)
        test = await api.post("/api/monitoring/channels/ops-hook/test", headers=headers)
        assert (add.status_code, remove.status_code, test.status_code) == (403, 403, 403)
    listed = await api.get("/api/monitoring/channels", headers=bearer(tokens[Role.ADMIN]))
    assert [c["name"] for c in listed.json()["items"]] == ["ops-hook"]


async def test_reading_needs_a_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/monitoring/channels")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "Bad Name", "type": "webhook", "url": "http://x"}, "is not a channel name"),
        ({"name": "hook", "type": "slack"}, "--url is required"),
        ({"name": "hook", "type": "webhook", "url": "http://x", "smtp_host": "h"}, "takes no"),
        ({"name": "hook", "type": "pagerduty", "routing_key_secret": "NOPE"}, "not stored"),
    ],
)
async def test_bad_input_is_a_422_problem_and_stores_nothing(
    api: httpx.AsyncClient, tokens: Tokens, runtime: Runtime, body: dict[str, str], detail: str
) -> None:
    admin = bearer(tokens[Role.ADMIN])

    response = await api.post("/api/monitoring/channels", json=body, headers=admin)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
    listed = await api.get("/api/monitoring/channels", headers=admin)
    assert listed.json() == {"items": [], "next_cursor": None}
    assert await secret_store.list_secret_names(runtime.uow(read_only=True)) == set()


async def test_an_unknown_type_or_field_is_a_422(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    for body in ({**HOOK, "type": "fax"}, {**HOOK, "colour": "red"}):
        response = await api.post("/api/monitoring/channels", json=body, headers=admin)
        assert response.status_code == 422


async def test_a_taken_name_is_a_409(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    await api.post("/api/monitoring/channels", json=HOOK, headers=admin)

    response = await api.post("/api/monitoring/channels", json=HOOK, headers=admin)

    assert response.status_code == 409


async def test_a_test_is_signed_sent_and_logged(
    api: httpx.AsyncClient, tokens: Tokens, receiver: FakeWebhookReceiver
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    added = await api.post(
        "/api/monitoring/channels", json={**HOOK, "url": receiver.url}, headers=admin
    )
    key = added.json()["signing_key"]

    response = await api.post("/api/monitoring/channels/ops-hook/test", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    [request] = receiver.requests
    assert signature_matches(key, request.body, request.headers["x-orchestrate-signature-256"])
    log = await api.get(
        "/api/monitoring/notifications",
        params={"channel": "ops-hook"},
        headers=bearer(tokens[Role.VIEWER]),
    )
    assert [(e["outcome"], e["attempt"]) for e in log.json()["items"]] == [("sent", 1)]


async def test_a_failed_test_is_a_502_with_the_reason(
    api: httpx.AsyncClient, tokens: Tokens, receiver: FakeWebhookReceiver
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    await api.post("/api/monitoring/channels", json={**HOOK, "url": receiver.url}, headers=admin)
    receiver.fail_next(1, 500)

    response = await api.post("/api/monitoring/channels/ops-hook/test", headers=admin)

    assert response.status_code == 502
    assert "HTTP 500" in response.json()["detail"]


async def test_removing_is_a_204_then_a_404(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    await api.post("/api/monitoring/channels", json=HOOK, headers=admin)

    first = await api.delete("/api/monitoring/channels/ops-hook", headers=admin)
    second = await api.delete("/api/monitoring/channels/ops-hook", headers=admin)

    assert (first.status_code, second.status_code) == (204, 404)


async def test_channels_and_the_log_come_in_pages(
    api: httpx.AsyncClient, tokens: Tokens, receiver: FakeWebhookReceiver
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    for name in ("c-one", "a-one", "b-one"):
        await api.post(
            "/api/monitoring/channels",
            json={**HOOK, "name": name, "url": receiver.url},
            headers=admin,
        )
        await api.post(f"/api/monitoring/channels/{name}/test", headers=admin)

    first = (await api.get("/api/monitoring/channels", params={"limit": 2}, headers=admin)).json()
    rest = await api.get(
        "/api/monitoring/channels", params={"cursor": first["next_cursor"]}, headers=admin
    )
    log = await api.get("/api/monitoring/notifications", params={"limit": 2}, headers=admin)
    older = await api.get(
        "/api/monitoring/notifications",
        params={"cursor": log.json()["next_cursor"]},
        headers=admin,
    )

    assert [c["name"] for c in first["items"]] == ["a-one", "b-one"]
    assert [c["name"] for c in rest.json()["items"]] == ["c-one"]
    assert [e["channel"] for e in log.json()["items"]] == ["b-one", "a-one"]
    assert [e["channel"] for e in older.json()["items"]] == ["c-one"]
    assert older.json()["next_cursor"] is None
