"""A fake GitHub with one repository, and the real adapter pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from orchestrate.forges.client import ForgeCall
from orchestrate.forges.github.auth import TokenCredentials
from orchestrate.forges.github.client import GitHubClient
from orchestrate.forges.github.transport import RetryPolicy
from orchestrate.testing import FakeGitHub

REPO = "octo/app"
FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05, max_rate_limit_wait=5.0)


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(REPO)
        yield fake


@pytest.fixture
def forge_calls() -> list[ForgeCall]:
    return []


@pytest.fixture
async def github(
    fake_github: FakeGitHub, forge_calls: list[ForgeCall]
) -> AsyncIterator[GitHubClient]:
    async def observe(call: ForgeCall) -> None:
        forge_calls.append(call)

    client = GitHubClient(
        TokenCredentials(fake_github.token, "test"),
        api_url=fake_github.api_url,
        observer=observe,
        policy=FAST,
        timeout=10,
    )
    async with client:
        yield client
