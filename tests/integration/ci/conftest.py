"""The three fake CI platforms, settings pointing at them, and their tokens in the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate.auth.models import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.secrets import service as secrets
from orchestrate.testing import CircleJob, FakeCircleCI, FakeGitHub, FakeGitLab, FakeJob
from tests.integration.cli.support import cli

__all__ = ["cli"]

REPO = "octo/app"
PROJECT = "group/app"
SLUG = "gh/acme/app"
GITHUB_JOBS = (("lint", "success", "lint ok\n"), ("test", "failure", "FAILED test_y\n"))


@dataclass
class Platforms:
    github: FakeGitHub
    gitlab: FakeGitLab
    circleci: FakeCircleCI


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    with FakeGitHub() as github, FakeGitLab() as gitlab, FakeCircleCI() as circleci:
        github.add_repository(REPO)
        github.add_workflow(REPO, "ci.yml", name="CI", jobs=GITHUB_JOBS)
        gitlab.add_project(PROJECT)
        gitlab.set_ci_jobs(PROJECT, [FakeJob("build", "pending", trace="building\n")])
        circleci.add_project(SLUG)
        circleci.set_config(SLUG, {"build": [CircleJob("test", "success", output="ok\n")]})
        yield Platforms(github, gitlab, circleci)


def ci_settings(db_url: str, tmp_path: Path, platforms: Platforms, **extra: object) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        ci_github_api_url=platforms.github.api_url,
        ci_gitlab_url=platforms.gitlab.url,
        ci_circleci_url=platforms.circleci.url,
        ci_repository=REPO,
        ci_trigger_timeout_seconds=5,
        forge_retry_base_seconds=0.01,
        forge_retry_max_seconds=0.05,
        forge_rate_limit_max_wait_seconds=5,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(db_url: str, tmp_path: Path, platforms: Platforms) -> Settings:
    return ci_settings(db_url, tmp_path, platforms)


async def store_tokens(runtime: Runtime, platforms: Platforms, admin: Actor) -> None:
    for name, value in (
        ("GITHUB_TOKEN", platforms.github.token),
        ("GITLAB_TOKEN", platforms.gitlab.token),
        ("CIRCLECI_TOKEN", platforms.circleci.token),
    ):
        await secrets.set_secret(runtime.uow(), runtime.settings, name, value, admin)


@pytest.fixture
async def stored_tokens(runtime: Runtime, platforms: Platforms, admin: Actor) -> None:
    await store_tokens(runtime, platforms, admin)
