"""Safe by default: hostile values stay data, steps see no worker environment, secrets stay hidden.

Each test runs real steps through the worker on both database engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.errors import PermissionDenied
from orchestrate.core.sandbox.policy import BASE_ENVIRONMENT
from orchestrate.pipelines import service
from orchestrate.pipelines.spec.problems import PipelineInvalid
from orchestrate.secrets import service as secrets
from orchestrate.secrets.loaded import forget_loaded
from tests.integration.pipelines.engine.conftest import Pipelines

PAYLOADS = ['"; touch pwned; "', "$(touch pwned)", "`touch pwned`", "'; touch pwned; '"]
QUOTINGS = {
    "double": 'echo "seen=${{ %s }}" >> "$ORCHESTRATE_OUTPUT"',
    "single": "echo 'seen=${{ %s }}' >> \"$ORCHESTRATE_OUTPUT\"",
    "bare": 'echo seen=${{ %s }} >> "$ORCHESTRATE_OUTPUT"',
}
SECRET = "swordfish-0123456789"


@pytest.fixture(autouse=True)
def _forget_loaded_secrets() -> Iterator[None]:
    forget_loaded()
    yield
    forget_loaded()


def _workspace(run_id: str, pipelines: Pipelines) -> Path:
    return pipelines.runtime.settings.home / "pipelines" / "workspaces" / run_id


@pytest.mark.parametrize("quoting", QUOTINGS.values(), ids=QUOTINGS.keys())
@pytest.mark.parametrize("payload", PAYLOADS)
async def test_hostile_title_input_output_and_matrix_value_are_printed_not_run(
    pipelines: Pipelines, payload: str, quoting: str
) -> None:
    steps = {
        "title": "trigger.pull_request.title",
        "input": "inputs.x",
        "output": "needs.make.outputs.x",
        "matrix": "matrix.x",
    }
    await pipelines.register(
        f"""
        name: hostile
        inputs:
          x: {{required: true}}
        steps:
          - id: make
            run: printf 'x=%s\\n' "$X" >> "$ORCHESTRATE_OUTPUT"
            env:
              X: ${{{{ inputs.x }}}}
          - id: title
            run: {_yaml(quoting % steps["title"])}
          - id: input
            run: {_yaml(quoting % steps["input"])}
          - id: output
            needs: make
            run: {_yaml(quoting % steps["output"])}
          - id: matrix
            matrix:
              x: [{_yaml(payload)}]
            run: {_yaml(quoting % steps["matrix"])}
        """
    )
    request = service.TriggerRequest(
        "hostile", inputs={"x": payload}, trigger={"pull_request": {"title": payload}}
    )
    started = await service.trigger_pipeline(
        pipelines.runtime.uow(), pipelines.runtime.settings, request, pipelines.actor
    )
    await pipelines.work()
    run = await pipelines.get(started.id)
    assert run.status.value == "success", run
    seen = {step.step_id: step.outputs.get("seen") for step in run.steps if step.step_id in steps}
    assert seen == dict.fromkeys(steps, payload)
    assert not list(_workspace(run.id, pipelines).rglob("pwned"))


async def test_a_step_starts_without_the_workers_environment(
    pipelines: Pipelines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_CANARY", "from-the-worker")
    monkeypatch.setenv("ORCHESTRATE_DATABASE_PASSWORD", "hunter2")
    await pipelines.register(
        """
        name: envcheck
        env:
          SHARED: pipeline
        steps:
          - id: look
            env:
              OWN: step
            run: |
              echo "names=$(env | cut -d= -f1 | sort | tr '\\n' ' ')" >> "$ORCHESTRATE_OUTPUT"
              echo "canary=${WORKER_CANARY:-absent}" >> "$ORCHESTRATE_OUTPUT"
        """
    )
    run = await pipelines.run("envcheck")
    outputs = run.step("look").outputs
    assert outputs["canary"] == "absent"
    names = set(outputs["names"].split())
    # bash's own, and the sandbox's fixed ones (none of them copied from the worker)
    allowed = {"CI", "PWD", "SHLVL", "_", "OLDPWD", *BASE_ENVIRONMENT}
    assert {"SHARED", "OWN", "CI", "PATH", "ORCHESTRATE_OUTPUT"} <= names
    assert names - {"SHARED", "OWN"} - allowed <= {
        "ORCHESTRATE_RUN_ID",
        "ORCHESTRATE_STEP",
        "ORCHESTRATE_STEP_ATTEMPT",
        "ORCHESTRATE_WORKSPACE",
        "ORCHESTRATE_OUTPUT",
    }


async def test_a_secret_reaches_its_step_as_a_variable_and_is_masked(
    pipelines: Pipelines,
) -> None:
    runtime = pipelines.runtime
    admin = Actor.local_cli()
    await secrets.set_secret(runtime.uow(), runtime.settings, "DEPLOY_TOKEN", SECRET, admin)
    await secrets.set_secret(runtime.uow(), runtime.settings, "UNUSED", "never-fetched-99", admin)
    await pipelines.register(
        """
        name: deploy
        steps:
          - id: ship
            env:
              TOKEN: ${{ secrets.DEPLOY_TOKEN }}
            run: |
              echo "length=${#TOKEN}" >> "$ORCHESTRATE_OUTPUT"
              echo "direct=${{ secrets.DEPLOY_TOKEN }}" >> "$ORCHESTRATE_OUTPUT"
              echo "the token is $TOKEN"
              echo "others=$(env | grep -c never-fetched || true)" >> "$ORCHESTRATE_OUTPUT"
              exit 3
        """
    )
    run = await pipelines.run("deploy")
    ship = run.step("ship")
    assert ship.outputs == {"length": str(len(SECRET)), "direct": "***", "others": "0"}
    events = await service.run_events(runtime.uow(read_only=True), run.id)
    logs = [event.payload["lines"] for event in events if event.type == "pipeline.step.log"]
    logged = [line for lines in logs for line in lines]
    assert "the token is ***" in logged
    assert all(SECRET not in str(event.payload) for event in events)


async def test_a_value_the_step_registers_as_secret_is_masked_in_its_outputs_and_error(
    pipelines: Pipelines,
) -> None:
    await pipelines.register(
        """
        name: minted
        steps:
          - id: mint
            run: |
              echo "::add-mask::minted-credential-42"
              echo "token=minted-credential-42" >> "$ORCHESTRATE_OUTPUT"
              echo "minted-credential-42 is here"
        """
    )
    run = await pipelines.run("minted")
    assert run.step("mint").outputs == {"token": "***"}
    events = await service.run_events(pipelines.runtime.uow(read_only=True), run.id)
    assert all("minted-credential-42" not in str(event.payload) for event in events)


async def test_registering_a_pipeline_that_reads_a_missing_secret_names_it(
    pipelines: Pipelines,
) -> None:
    with pytest.raises(PipelineInvalid) as raised:
        await pipelines.register(
            """
            name: deploy
            steps:
              - id: ship
                run: echo "${{ secrets.NO_SUCH_TOKEN }}"
            """
        )
    (problem,) = raised.value.problems
    assert problem.message == "secret 'NO_SUCH_TOKEN' does not exist"
    assert (problem.line, problem.column) == (5, 20)


def _yaml(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (payloads hold quotes, colons, backticks)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


async def test_only_an_admin_may_register_a_pipeline_that_reads_secrets(
    pipelines: Pipelines,
) -> None:
    runtime = pipelines.runtime
    await secrets.set_secret(
        runtime.uow(), runtime.settings, "DEPLOY_TOKEN", SECRET, Actor.local_cli()
    )
    operator = Actor(name="ops", role=Role.OPERATOR, source="test")
    text = "name: leak\nsteps:\n  - id: x\n    run: echo ${{ secrets.DEPLOY_TOKEN }} | rev\n"

    with pytest.raises(PermissionDenied, match=r"Only an admin .* DEPLOY_TOKEN"):
        await service.register_pipeline(runtime.uow(), service.PipelineSource(text), operator)

    assert await service.list_pipelines(runtime.uow(read_only=True)) == []
