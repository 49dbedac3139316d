"""Run numbers keep counting when a pipeline is deleted and registered again."""

from __future__ import annotations

import httpx

from orchestrate.auth.models import Role
from tests.integration.pipelines.conftest import pipeline_yaml, shell
from tests.integration.pipelines.test_api import Tokens, register, trigger
from tests.support import bearer


async def test_runs_of_a_recreated_pipeline_continue_the_numbers_of_the_deleted_one(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    text = pipeline_yaml("again", [shell("hello", "echo hi")])
    await register(api, tokens, text)
    first = await trigger(api, tokens, "again")
    second = await trigger(api, tokens, "again")
    deleted = await api.delete("/api/pipelines/again", headers=bearer(tokens[Role.OPERATOR]))
    assert deleted.status_code == 204
    await register(api, tokens, text)

    third = await trigger(api, tokens, "again")
    fourth = await trigger(api, tokens, "again")

    numbers = [run["number"] for run in (first, second, third, fourth)]
    assert numbers == [1, 2, 3, 4]
