"""``forge_client``: one way to a ``ForgeClient`` for either forge, every call an event,
and missing credentials a ``ConfigurationError`` naming what to set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from orchestrate.core.errors import ConfigurationError, ValidationFailed
from orchestrate.core.events import Event, EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.forges import service as forges
from orchestrate.testing import FakeGitHub, FakeGitLab
from orchestrate.testing.fake_gitlab import DEFAULT_USER

PROJECT = "group/app"


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        fake.add_project(PROJECT)
        yield fake


async def forge_events(runtime: Runtime) -> list[Event]:
    async with runtime.uow(read_only=True) as uow:
        return list(await read_events(uow.session, only=EventFilter(types=("forge.*",))))


async def test_a_gitlab_client_records_each_call_about_its_project(
    runtime: Runtime, gitlab: FakeGitLab
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"gitlab_url": gitlab.url, "gitlab_token": SecretStr(gitlab.token)}
    )

    async with forges.forge_client(runtime.uow(), runtime.settings, "gitlab") as client:
        found = await client.get_repository(PROJECT)

    assert (client.forge, found.repository) == ("gitlab", PROJECT)
    [event] = await forge_events(runtime)
    assert (event.subject, event.payload["forge"], event.payload["status"]) == (
        PROJECT,
        "gitlab",
        200,
    )
    assert gitlab.token not in str(event.payload)


async def test_a_github_client_comes_the_same_way(runtime: Runtime) -> None:
    with FakeGitHub() as github:
        github.add_repository("octo/app")
        runtime.settings = runtime.settings.model_copy(
            update={"github_api_url": github.api_url, "github_token": SecretStr(github.token)}
        )

        async with forges.forge_client(runtime.uow(), runtime.settings, "github") as client:
            found = await client.get_repository("octo/app")

    assert (client.forge, found.repository) == ("github", "octo/app")
    assert [e.subject for e in await forge_events(runtime)] == ["octo/app"]


@pytest.mark.parametrize(
    ("forge", "named"),
    [("github", "ORCHESTRATE_GITHUB_TOKEN"), ("gitlab", "ORCHESTRATE_GITLAB_TOKEN")],
)
async def test_without_credentials_both_forges_name_the_setting_and_the_secret(
    runtime: Runtime, forge: str, named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named) as refused:
        async with forges.forge_client(runtime.uow(), runtime.settings, forge):
            pass

    assert f"{forge.upper()}_TOKEN" in str(refused.value).replace(named, "")


async def test_an_unknown_forge_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed, match="github, gitlab"):
        async with forges.forge_client(runtime.uow(), runtime.settings, "bitbucket"):
            pass


async def test_each_forge_names_who_orchestrate_acts_as(
    runtime: Runtime, gitlab: FakeGitLab
) -> None:
    with FakeGitHub(login="shepherd-bot") as github:
        runtime.settings = runtime.settings.model_copy(
            update={
                "github_api_url": github.api_url,
                "github_token": SecretStr(github.token),
                "gitlab_url": gitlab.url,
                "gitlab_token": SecretStr(gitlab.token),
            }
        )
        async with forges.forge_client(runtime.uow(), runtime.settings, "github") as client:
            assert await client.whoami() == "shepherd-bot"
        async with forges.forge_client(runtime.uow(), runtime.settings, "gitlab") as client:
            assert await client.whoami() == DEFAULT_USER
