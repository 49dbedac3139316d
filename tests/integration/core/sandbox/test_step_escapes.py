"""The escape suite as pipeline ``run`` steps on both databases, and network opt-in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import orchestrate
from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from tests.integration.core.sandbox.conftest import Places
from tests.integration.core.sandbox.escapes import CONTAINED, ESCAPES
from tests.integration.pipelines.engine.conftest import Pipelines, statuses


@pytest.fixture
def pipelines(runtime: Runtime) -> Pipelines:
    return Pipelines(runtime, Actor.system("test"))


def pipeline_of_escapes(places: Places, database: Path) -> str:
    """One step per attempt, all in parallel, in a pipeline bound to the user's checkout."""
    values = {**places.values(), "database": database}
    steps = [
        {"id": f"escape-{index}", "run": escape.render(**values)}
        for index, escape in enumerate(ESCAPES)
    ]
    return json.dumps({"name": "escapes", "steps": steps})


async def test_each_escape_attempt_from_a_run_step_is_contained(
    pipelines: Pipelines, places: Places, engine_name: str, db_url: str
) -> None:
    settings = pipelines.runtime.settings
    database = Path(db_url.removeprefix("sqlite+aiosqlite:///"))
    places.home = settings.home
    config_before = (places.common / "config").read_text()
    source = service.PipelineSource(
        pipeline_of_escapes(places, database), repo_path=places.checkout
    )
    await service.register_pipeline(pipelines.runtime.uow(), source, pipelines.actor)

    run = await pipelines.run("escapes")

    for index, escape in enumerate(ESCAPES):
        step = run.step(f"escape-{index}")
        assert step.error == f"exited with code {CONTAINED}", (escape.name, step.error)
    assert set(statuses(run).values()) == {"failure"}
    assert not (places.outside / "planted").exists()
    assert not (places.common / "hooks" / "pre-commit").exists()
    assert (places.common / "config").read_text() == config_before
    assert engine_name in {"sqlite", "postgresql"}


async def test_a_step_writes_its_workspace_and_outputs_but_not_the_home(
    pipelines: Pipelines,
) -> None:
    home = pipelines.runtime.settings.home
    await pipelines.register(
        f"""
        name: ordinary
        steps:
          - id: work
            run: |
              echo built > artifact.txt
              python3 -c 'print("tests ran")'
              echo "artifact=$(cat artifact.txt)" >> "$ORCHESTRATE_OUTPUT"
              ls {home}/pipelines/logs && echo "logs=visible" >> "$ORCHESTRATE_OUTPUT" || true
        """
    )

    run = await pipelines.run("ordinary")

    assert statuses(run) == {"work": "success"}
    assert run.step("work").outputs == {"artifact": "built"}


async def test_the_orchestrate_cli_inside_a_step_cannot_reach_the_servers_database(
    pipelines: Pipelines,
) -> None:
    settings = pipelines.runtime.settings
    # Make this virtualenv's orchestrate runnable in the sandbox, as a user might.
    source = Path(orchestrate.__file__).parents[1]  # an editable install reads it from here
    settings.sandbox_read_only_paths = [Path(sys.prefix), Path(sys.base_prefix), source]
    settings.sandbox_path = f"{sys.prefix}/bin:/usr/bin:/bin"
    await pipelines.register(
        """
        name: grab
        steps:
          - id: token
            run: orchestrate token create --name stolen --role admin
        """
    )

    run = await pipelines.run("grab")

    # It ran, found no server's database, and made itself an empty one in the workspace.
    log = Path(run.step("token").log_path or "").read_text()
    assert "Created admin token 'stolen'" in log
    tokens = await auth.list_tokens(pipelines.runtime.uow(read_only=True))
    assert "stolen" not in {token.name for token in tokens}
