"""Where the GitLab token comes from: the setting, else the secret store."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from orchestrate.auth.models import Actor
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.runtime import Runtime
from orchestrate.forges.gitlab import gitlab_token
from orchestrate.secrets import service as secrets
from orchestrate.secrets.loaded import forget_loaded


@pytest.fixture(autouse=True)
def _forget_loaded_secrets() -> None:
    forget_loaded()


async def test_the_stored_secret_is_used_when_no_setting_is_given(runtime: Runtime) -> None:
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "GITLAB_TOKEN", "glpat-stored", Actor.local_cli()
    )

    assert await gitlab_token(runtime.uow(read_only=True), runtime.settings) == "glpat-stored"


async def test_the_setting_wins_over_the_stored_secret(runtime: Runtime) -> None:
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "GITLAB_TOKEN", "glpat-stored", Actor.local_cli()
    )
    settings = runtime.settings.model_copy(update={"gitlab_token": SecretStr("glpat-env")})

    assert await gitlab_token(runtime.uow(read_only=True), settings) == "glpat-env"


async def test_no_token_anywhere_says_how_to_give_one(runtime: Runtime) -> None:
    with pytest.raises(ConfigurationError, match="orchestrate secret set GITLAB_TOKEN"):
        await gitlab_token(runtime.uow(read_only=True), runtime.settings)
