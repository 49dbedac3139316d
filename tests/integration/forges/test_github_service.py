"""``github_client``: credentials from settings or the secret store, every call in the event log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrate.auth.service import Actor
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.events import Event, EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.forges import service as forges
from orchestrate.secrets import service as secrets
from orchestrate.testing import FakeGitHub, secondary_rate_limit
from tests.integration.forges.conftest import REPO


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token="ghp_from_test") as github:
        github.add_repository(REPO)
        yield github


def configure(runtime: Runtime, fake: FakeGitHub, **more: object) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"github_api_url": fake.api_url, "forge_retry_base_seconds": 0.01, **more}
    )


async def forge_events(runtime: Runtime) -> list[Event]:
    async with runtime.uow(read_only=True) as uow:
        return list(await read_events(uow.session, only=EventFilter(types=("forge.*",))))


async def test_every_call_is_an_event_about_its_repository(
    runtime: Runtime, fake: FakeGitHub
) -> None:
    from pydantic import SecretStr

    configure(runtime, fake, github_token=SecretStr("ghp_from_test"))
    fake.fail_next(secondary_rate_limit(retry_after=1))
    client = await forges.github_client(runtime.uow(), runtime.settings)
    async with client:
        await client.get_repository(REPO)
    events = await forge_events(runtime)
    assert [(e.type, e.subject) for e in events] == [("forge.called", REPO)] * 2
    assert events[0].payload == {
        "forge": "github",
        "method": "GET",
        "path": "/repos/octo/app",
        "status": 403,
        "duration_ms": events[0].payload["duration_ms"],
        "attempt": 1,
    }
    assert events[1].payload["status"] == 200
    assert events[1].payload["attempt"] == 2
    assert events[1].payload["waited_s"] == pytest.approx(1.0)
    assert "ghp_from_test" not in str([e.payload for e in events])


async def test_the_github_client_is_a_forge_client(runtime: Runtime, fake: FakeGitHub) -> None:
    from pydantic import SecretStr

    from orchestrate.forges.client import ForgeClient

    configure(runtime, fake, github_token=SecretStr("ghp_from_test"))
    github = await forges.github_client(runtime.uow(), runtime.settings)
    async with github:
        client: ForgeClient = github  # mypy checks that it satisfies the protocol
        assert client.forge == "github"


async def test_the_token_may_come_from_the_secret_store(
    runtime: Runtime, fake: FakeGitHub, admin: Actor
) -> None:
    configure(runtime, fake)
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "GITHUB_TOKEN", "ghp_from_test", admin
    )
    client = await forges.github_client(runtime.uow(), runtime.settings)
    async with client:
        assert (await client.get_repository(REPO)).repository == REPO
    assert [call.login for call in fake.calls()] == ["orchestrate-bot"]


async def test_the_setting_wins_over_the_stored_token(
    runtime: Runtime, fake: FakeGitHub, admin: Actor
) -> None:
    from pydantic import SecretStr

    fake.add_token("ghp_setting", "from-setting")
    configure(runtime, fake, github_token=SecretStr("ghp_setting"))
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "GITHUB_TOKEN", "ghp_from_test", admin
    )
    client = await forges.github_client(runtime.uow(), runtime.settings)
    async with client:
        await client.get_repository(REPO)
    assert [call.login for call in fake.calls()] == ["from-setting"]


async def test_without_credentials_the_client_says_what_to_set(
    runtime: Runtime, fake: FakeGitHub
) -> None:
    configure(runtime, fake)
    with pytest.raises(ConfigurationError, match="ORCHESTRATE_GITHUB_TOKEN"):
        await forges.github_client(runtime.uow(), runtime.settings)
