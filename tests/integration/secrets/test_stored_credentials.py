"""Provider API keys and the GitHub webhook secret may live in the secret store."""

from __future__ import annotations

import httpx
import pytest

from orchestrate.auth.models import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.forges.github.signatures import sign
from orchestrate.llm.errors import MissingCredentials
from orchestrate.llm.factory import check_credentials, create_provider
from orchestrate.secrets import service as secrets

PUSH = b'{"ref": "refs/heads/main", "repository": {"full_name": "octo/hello"}}'


def push_headers(secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "delivery-1",
        "X-Hub-Signature-256": sign(PUSH, secret),
    }


async def test_a_stored_openai_key_is_used_when_the_environment_has_none(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(MissingCredentials):
        check_credentials("openai")

    await secrets.set_secret(
        runtime.uow(), runtime.settings, "OPENAI_API_KEY", "sk-stored-key", Actor.local_cli()
    )

    check_credentials("openai")
    provider = create_provider("openai", runtime.settings)
    await provider.aclose()


async def test_the_environment_s_provider_key_wins_over_the_stored_one(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-the-environment")
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "ANTHROPIC_API_KEY", "from-the-store", Actor.local_cli()
    )
    from orchestrate.llm.factory import _stored_key

    assert _stored_key("ANTHROPIC_API_KEY") is None
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    assert _stored_key("ANTHROPIC_API_KEY") == "from-the-store"


async def test_a_delivery_signed_with_the_stored_webhook_secret_is_accepted(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    refused = await api.post("/webhooks/github", content=PUSH, headers=push_headers("hook-s3cret"))
    assert refused.status_code == 401

    await secrets.set_secret(
        runtime.uow(), runtime.settings, "GITHUB_WEBHOOK_SECRET", "hook-s3cret", Actor.local_cli()
    )
    accepted = await api.post("/webhooks/github", content=PUSH, headers=push_headers("hook-s3cret"))
    wrong = await api.post("/webhooks/github", content=PUSH, headers=push_headers("other"))

    assert accepted.status_code == 202, accepted.text
    assert wrong.status_code == 401


async def test_a_gitlab_delivery_with_the_stored_webhook_token_is_accepted(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = b'{"object_kind": "push", "project": {"path_with_namespace": "team/app"}}'

    def gitlab(token: str) -> dict[str, str]:
        return {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": token}

    refused = await api.post("/webhooks/gitlab", content=body, headers=gitlab("gl-s3cret"))
    assert refused.status_code == 401

    await secrets.set_secret(
        runtime.uow(), runtime.settings, "GITLAB_WEBHOOK_SECRET", "gl-s3cret", Actor.local_cli()
    )
    accepted = await api.post("/webhooks/gitlab", content=body, headers=gitlab("gl-s3cret"))
    wrong = await api.post("/webhooks/gitlab", content=body, headers=gitlab("other"))

    assert accepted.status_code == 202, accepted.text
    assert wrong.status_code == 401
