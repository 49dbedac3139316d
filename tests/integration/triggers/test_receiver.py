"""``POST /webhooks/github``: signatures, refusals, dedupe, and every real payload stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.forges.github.signatures import sign
from orchestrate.triggers.kinds import PROCESS_DELIVERIES
from orchestrate.triggers.service import MAX_BODY_BYTES
from orchestrate.triggers.tables import WebhookDeliveryRow
from tests.support import GITHUB_WEBHOOKS

SECRET = "It's a Secret to Everybody"
PAYLOADS = GITHUB_WEBHOOKS
URL = "/webhooks/github"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        github_webhook_secret=SECRET,
    )


def payload_files() -> list[Path]:
    return sorted(p for p in PAYLOADS.glob("*/*.json"))


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def github_headers(
    body: bytes,
    event: str = "push",
    *,
    delivery_id: str | None = None,
    secret: str | None = SECRET,
) -> dict[str, str]:
    """The headers GitHub sends with a delivery (signed unless ``secret`` is None)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


async def deliver(
    api: httpx.AsyncClient, body: bytes, event: str = "push", **options: Any
) -> httpx.Response:
    return await api.post(URL, content=body, headers=github_headers(body, event, **options))


async def stored(runtime: Runtime) -> list[WebhookDeliveryRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(WebhookDeliveryRow)))


async def jobs_of_processing(runtime: Runtime) -> int:
    from orchestrate.core.jobs.tables import JobRow

    async with runtime.uow(read_only=True) as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(JobRow).where(JobRow.kind == PROCESS_DELIVERIES.name)
        )
        return int(count or 0)


PUSH = body_of({"ref": "refs/heads/main", "repository": {"full_name": "octo/hello"}})


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["detail"]
    return problem


class TestSignatures:
    async def test_a_validly_signed_delivery_is_accepted_and_stored(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        response = await deliver(api, PUSH, delivery_id="d-1")

        assert response.status_code == 202
        assert response.json()["status"] == "accepted"
        assert response.json()["delivery_id"] == "d-1"
        [row] = await stored(runtime)
        assert (row.delivery_id, row.event, row.repository) == ("d-1", "push", "octo/hello")
        assert row.body == PUSH.decode()
        assert row.status == "received"
        assert await jobs_of_processing(runtime) == 1

    async def test_the_signature_is_not_stored_with_the_headers(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        await deliver(api, PUSH)

        [row] = await stored(runtime)
        assert "x-github-hook-id" in row.headers
        assert not any(name.startswith("x-hub-signature") for name in row.headers)

    async def test_a_wrongly_signed_delivery_is_refused_and_nothing_stored(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        response = await deliver(api, PUSH, secret="not the secret")

        assert_problem(response, 401)
        assert await stored(runtime) == []
        assert await jobs_of_processing(runtime) == 0

    async def test_a_body_changed_after_signing_is_refused(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        headers = github_headers(PUSH)
        response = await api.post(URL, content=PUSH.replace(b"main", b"evil"), headers=headers)

        assert_problem(response, 401)
        assert await stored(runtime) == []

    async def test_an_unsigned_delivery_is_refused_and_nothing_stored(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        response = await deliver(api, PUSH, secret=None)

        problem = assert_problem(response, 401)
        assert "X-Hub-Signature-256" in problem["detail"]
        assert await stored(runtime) == []

    async def test_a_sha1_only_signature_is_refused(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        headers = github_headers(PUSH, secret=None) | {"X-Hub-Signature": "sha1=0123abcd"}
        response = await api.post(URL, content=PUSH, headers=headers)

        assert_problem(response, 401)
        assert await stored(runtime) == []

    async def test_while_rotating_both_the_old_and_the_new_secret_are_accepted(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"github_webhook_secret": _secret("old-secret, new-secret")}
        )

        old = await deliver(api, PUSH, secret="old-secret")
        new = await deliver(api, PUSH, secret="new-secret")
        other = await deliver(api, PUSH, secret=SECRET)

        assert (old.status_code, new.status_code) == (202, 202)
        assert_problem(other, 401)
        assert len(await stored(runtime)) == 2


def _secret(value: str | None) -> Any:
    from pydantic import SecretStr

    return None if value is None else SecretStr(value)


class TestWithoutASecret:
    async def test_every_delivery_is_refused_with_a_message_naming_the_setting(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"github_webhook_secret": None})

        response = await deliver(api, PUSH)
        unsigned = await deliver(api, PUSH, secret=None)

        problem = assert_problem(response, 401)
        assert "ORCHESTRATE_GITHUB_WEBHOOK_SECRET" in problem["detail"]
        assert_problem(unsigned, 401)
        assert await stored(runtime) == []

    async def test_insecure_mode_accepts_unsigned_deliveries(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"github_webhook_secret": None, "github_webhook_insecure": True}
        )

        response = await deliver(api, PUSH, secret=None)

        assert response.status_code == 202
        assert len(await stored(runtime)) == 1

    async def test_insecure_mode_still_checks_signatures_when_a_secret_is_set(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"github_webhook_insecure": True})

        response = await deliver(api, PUSH, secret=None)

        assert_problem(response, 401)


class TestMalformedDeliveries:
    @pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
    async def test_a_missing_github_header_is_a_400(
        self, api: httpx.AsyncClient, runtime: Runtime, header: str
    ) -> None:
        headers = github_headers(PUSH)
        del headers[header]

        response = await api.post(URL, content=PUSH, headers=headers)

        problem = assert_problem(response, 400)
        assert header in problem["detail"]
        assert await stored(runtime) == []

    @pytest.mark.parametrize(
        "body",
        [b"payload=%7B%7D", b"[1, 2]", b"\xff\xfe{}", b""],
        ids=["form", "list", "bytes", "empty"],
    )
    async def test_a_body_that_is_not_a_json_object_is_a_400(
        self, api: httpx.AsyncClient, runtime: Runtime, body: bytes
    ) -> None:
        response = await deliver(api, body)

        assert_problem(response, 400)
        assert await stored(runtime) == []

    async def test_a_body_over_the_limit_is_a_413_from_its_content_length(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        body = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'

        response = await deliver(api, body)

        assert_problem(response, 413)
        assert await stored(runtime) == []

    async def test_a_streamed_body_over_the_limit_is_a_413_without_a_content_length(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        chunk = b"x" * (1024 * 1024)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
                yield chunk

        headers = github_headers(b"")
        response = await api.post(URL, content=chunks(), headers=headers)

        assert "content-length" not in response.request.headers
        assert_problem(response, 413)
        assert await stored(runtime) == []

    async def test_a_body_at_the_limit_is_not_refused_for_its_size(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        padding = MAX_BODY_BYTES - len(b'{"a": ""}')
        body = b'{"a": "' + b"x" * padding + b'"}'
        assert len(body) == MAX_BODY_BYTES

        response = await deliver(api, body)

        assert response.status_code == 202


class TestPingAndDuplicates:
    async def test_ping_is_answered_200_with_its_zen_and_not_stored(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        body = (PAYLOADS / "ping/payload.json").read_bytes()

        response = await deliver(api, body, "ping")

        assert response.status_code == 200
        assert response.json() == {"zen": json.loads(body)["zen"]}
        assert await stored(runtime) == []
        assert await jobs_of_processing(runtime) == 0

    async def test_an_unsigned_ping_is_refused(self, api: httpx.AsyncClient) -> None:
        body = (PAYLOADS / "ping/payload.json").read_bytes()

        assert_problem(await deliver(api, body, "ping", secret=None), 401)

    async def test_a_repeated_delivery_id_is_a_duplicate_and_queues_no_second_job(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        first = await deliver(api, PUSH, delivery_id="same")
        again = await deliver(api, PUSH, delivery_id="same")

        assert first.json()["status"] == "accepted"
        assert again.status_code == 202
        assert again.json()["status"] == "duplicate"
        assert len(await stored(runtime)) == 1
        assert await jobs_of_processing(runtime) == 1

    async def test_the_receiver_needs_no_bearer_token(self, api: httpx.AsyncClient) -> None:
        response = await deliver(api, PUSH)

        assert response.status_code == 202
        assert "www-authenticate" not in response.headers


def _expected(path: Path) -> tuple[str, str | None, str | None]:
    payload = json.loads(path.read_bytes())
    repository = payload.get("repository")
    return (
        path.parent.name,
        payload.get("action"),
        repository["full_name"] if isinstance(repository, dict) else None,
    )


def _ids() -> Iterator[str]:
    for path in payload_files():
        yield f"{path.parent.name}/{path.name}"


async def test_every_real_payload_is_accepted_and_stored_with_its_event_action_and_repository(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    files = payload_files()
    assert len(files) > 90, f"payload examples missing from {PAYLOADS}"
    expected: dict[str, tuple[str, str | None, str | None]] = {}
    for number, path in enumerate(files):
        delivery_id = f"real-{number}"
        response = await deliver(api, path.read_bytes(), path.parent.name, delivery_id=delivery_id)
        if path.parent.name == "ping":
            assert response.status_code == 200, path
            continue
        assert response.status_code == 202, (path, response.text)
        expected[delivery_id] = _expected(path)

    rows = {row.delivery_id: row for row in await stored(runtime)}
    assert {key: (r.event, r.action, r.repository) for key, r in rows.items()} == expected
    for number, path in enumerate(files):
        if f"real-{number}" in rows:
            assert rows[f"real-{number}"].body == path.read_text(), path
