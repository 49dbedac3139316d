"""Secrets reach only ``run`` steps: registering a file that gives one to another step fails.

An agent step's ``env:`` and ``with:`` are evaluated without secrets, so before this
check a secret read there was silently empty (and, were it filled, the model would see
it). Every test registers through the service, as the API and ``pipeline apply`` do.
"""

from __future__ import annotations

from textwrap import dedent

import httpx
import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from orchestrate.pipelines.spec.problems import PipelineInvalid, SpecProblem
from orchestrate.secrets import service as secrets
from tests.support import bearer

WHY_RUN_ONLY = "secrets reach only 'run' steps, as environment variables of their process"


@pytest.fixture(autouse=True)
async def _deploy_token(runtime: Runtime) -> None:
    """The secret exists, so the only possible problem is where it is read."""
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "DEPLOY_TOKEN", "s3cret-value-42", Actor.local_cli()
    )


async def register(runtime: Runtime, text: str) -> None:
    source = service.PipelineSource(dedent(text).lstrip(), source="deploy.yml")
    await service.register_pipeline(runtime.uow(), source, Actor.local_cli())


async def refusal(runtime: Runtime, text: str) -> list[SpecProblem]:
    with pytest.raises(PipelineInvalid) as refused:
        await register(runtime, text)
    assert await service.list_pipelines(runtime.uow(read_only=True)) == []
    return refused.value.problems


class TestAgentSteps:
    async def test_a_secret_in_an_agent_steps_env_is_refused_naming_step_secret_and_why(
        self, runtime: Runtime
    ) -> None:
        problems = await refusal(
            runtime,
            """
            name: deploy
            steps:
              - id: fix
                agent: developer
                env:
                  TOKEN: ${{ secrets.DEPLOY_TOKEN }}
                with:
                  task: Fix the deploy script
            """,
        )

        (problem,) = problems
        assert problem.message == (
            "step 'fix', 'env.TOKEN': an agent step cannot read secret 'DEPLOY_TOKEN'; "
            f"{WHY_RUN_ONLY}, and an agent step would show the value to its model"
        )
        assert (problem.file, problem.line, problem.column) == ("deploy.yml", 6, 18)
        assert problem.hint == "read the secret in the env: of the 'run' step that needs it"

    async def test_an_agent_task_reading_a_pipeline_variable_that_holds_a_secret_is_refused(
        self, runtime: Runtime
    ) -> None:
        problems = await refusal(
            runtime,
            """
            name: deploy
            env:
              TOKEN: ${{ secrets.deploy_token }}
            steps:
              - id: fix
                agent: developer
                with:
                  task: "Use the token ${{ env.token }} to deploy"
            """,
        )

        (problem,) = problems
        assert problem.message.startswith(
            "step 'fix', 'with.task': an agent step cannot read secret 'DEPLOY_TOKEN' "
            "(through env.token)"
        )
        assert "would show the value to its model" in problem.message
        assert (problem.line, problem.column) == (8, 32)

    async def test_a_step_variable_carrying_a_secret_into_the_task_is_refused_at_both(
        self, runtime: Runtime
    ) -> None:
        problems = await refusal(
            runtime,
            """
            name: deploy
            env:
              TOKEN: ${{ secrets.DEPLOY_TOKEN }}
            steps:
              - id: fix
                agent: developer
                env:
                  AUTH: Bearer ${{ env.TOKEN }}
                with:
                  task: ${{ env.AUTH }}
            """,
        )

        assert [p.message.split(":")[0] for p in problems] == [
            "step 'fix', 'env.AUTH'",
            "step 'fix', 'with.task'",
        ]
        assert all("secret 'DEPLOY_TOKEN'" in p.message for p in problems)

    async def test_a_secret_written_in_an_agent_steps_with_is_refused_naming_the_step(
        self, runtime: Runtime
    ) -> None:
        problems = await refusal(
            runtime,
            """
            name: deploy
            steps:
              - id: fix
                agent: developer
                with:
                  task: Deploy with ${{ secrets.DEPLOY_TOKEN }}
            """,
        )

        (problem,) = problems
        assert problem.message.startswith(
            "step 'fix', 'with.task': 'secrets' cannot be read by an agent step: its model "
            "would see the value"
        )
        assert problem.hint is not None
        assert WHY_RUN_ONLY in problem.hint

    async def test_a_step_variable_hiding_the_pipeline_secret_variable_is_accepted(
        self, runtime: Runtime
    ) -> None:
        await register(
            runtime,
            """
            name: deploy
            env:
              TOKEN: ${{ secrets.DEPLOY_TOKEN }}
            steps:
              - id: fix
                agent: developer
                env:
                  TOKEN: not-a-secret
                with:
                  task: Check ${{ env.TOKEN }} and ${{ env.OTHER }}
            """,
        )

        assert [p.name for p in await service.list_pipelines(runtime.uow(read_only=True))] == [
            "deploy"
        ]


class TestOtherSteps:
    async def test_run_steps_reading_secrets_every_allowed_way_still_register(
        self, runtime: Runtime
    ) -> None:
        await register(
            runtime,
            """
            name: deploy
            env:
              TOKEN: ${{ secrets.DEPLOY_TOKEN }}
            steps:
              - id: ship
                run: ./deploy --token "${{ secrets.DEPLOY_TOKEN }}"
                env:
                  AUTH: Bearer ${{ env.TOKEN }}
                  AGAIN: ${{ secrets.DEPLOY_TOKEN }}
              - id: review
                needs: ship
                agent: reviewer
                with:
                  task: Review the deploy
            """,
        )

        [pipeline] = await service.list_pipelines(runtime.uow(read_only=True))
        assert pipeline.name == "deploy"

    async def test_a_pipeline_step_passing_a_secret_variable_as_input_is_refused(
        self, runtime: Runtime
    ) -> None:
        problems = await refusal(
            runtime,
            """
            name: deploy
            env:
              TOKEN: ${{ secrets.DEPLOY_TOKEN }}
            steps:
              - id: child
                pipeline: release
                with:
                  token: ${{ env.TOKEN }}
            """,
        )

        (problem,) = problems
        assert "a pipeline step cannot read secret 'DEPLOY_TOKEN'" in problem.message
        assert "store the value as the child run's inputs" in problem.message

    async def test_an_operator_is_told_where_the_secret_cannot_go_not_that_they_lack_admin(
        self, runtime: Runtime
    ) -> None:
        text = dedent(
            """
            name: deploy
            steps:
              - id: fix
                agent: developer
                env:
                  TOKEN: ${{ secrets.DEPLOY_TOKEN }}
                with:
                  task: Fix it
            """
        )
        operator = Actor(name="ops", role=Role.OPERATOR, source="test")

        with pytest.raises(PipelineInvalid, match="an agent step cannot read secret"):
            await service.register_pipeline(runtime.uow(), service.PipelineSource(text), operator)


async def test_the_api_answers_422_with_the_problem(
    api: httpx.AsyncClient, tokens: dict[Role, str]
) -> None:
    text = dedent(
        """
        name: deploy
        steps:
          - id: fix
            agent: developer
            env:
              TOKEN: ${{ secrets.DEPLOY_TOKEN }}
            with:
              task: Fix it
        """
    )

    response = await api.post(
        "/api/pipelines", json={"yaml": text}, headers=bearer(tokens[Role.ADMIN])
    )

    assert response.status_code == 422, response.text
    [problem] = response.json()["problems"]
    assert (
        "step 'fix', 'env.TOKEN': an agent step cannot read secret 'DEPLOY_TOKEN'"
        in (problem["message"])
    )
