"""Approvals, cancellation, concurrency groups, re-runs and child pipelines."""

from __future__ import annotations

import asyncio

import pytest

from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.errors import Conflict, PermissionDenied
from orchestrate.pipelines import service
from tests.integration.pipelines.engine.conftest import Pipelines, statuses

APPROVAL = """
name: gate
steps:
  - id: build
    run: echo "artifact=app.tar" >> "$ORCHESTRATE_OUTPUT"
  - id: approve
    needs: build
    approval: {approvers: [alice, bob], required: 2}
  - id: ship
    needs: approve
    run: echo "shipping ${{ steps.build.outputs.artifact }}"
"""


def person(name: str) -> Actor:
    return Actor(name=name, role=Role.OPERATOR, source="test")


async def test_approval_waits_without_a_worker_then_resumes(pipelines: Pipelines) -> None:
    await pipelines.register(APPROVAL)
    run = await pipelines.run("gate")
    assert run.status.value == "waiting"
    assert statuses(run)["approve"] == "waiting"
    uow = pipelines.runtime.uow
    pending = await service.pending_approvals(uow(), person("alice"))
    assert [(p.run_id, p.step) for p in pending] == [(run.id, "approve")]
    assert await service.pending_approvals(uow(), person("mallory")) == []
    with pytest.raises(PermissionDenied):
        await service.decide_approval(uow(), run.id, "approve", person("mallory"), "approve")
    await service.decide_approval(uow(), run.id, "approve", person("alice"), "approve", "lgtm")
    with pytest.raises(Conflict):
        await service.decide_approval(uow(), run.id, "approve", person("alice"), "approve")
    assert (await pipelines.get(run.id)).status.value == "waiting"
    await service.decide_approval(uow(), run.id, "approve", person("bob"), "approve")
    await pipelines.work()
    run = await pipelines.get(run.id)
    assert run.status.value == "success"
    assert run.step("approve").outputs["approved_by"] == "alice,bob"


async def test_one_rejection_fails_the_approval(pipelines: Pipelines) -> None:
    await pipelines.register(APPROVAL)
    run = await pipelines.run("gate")
    await service.decide_approval(
        pipelines.runtime.uow(), run.id, "approve", person("bob"), "reject", "not today"
    )
    run = await pipelines.get(run.id)
    assert run.status.value == "failure"
    assert run.step("approve").error == "rejected by bob: not today"
    assert run.step("ship").status.value == "skipped"


async def test_cancelling_a_run_stops_its_running_command(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: long
        steps:
          - id: sleep
            run: sleep 60
          - id: next
            needs: sleep
            run: echo next
          - id: cleanup
            needs: sleep
            if: always()
            run: echo cleaning
        """
    )
    run = await pipelines.trigger("long")
    worker = asyncio.create_task(pipelines.work(timeout=20))
    for _ in range(50):
        await asyncio.sleep(0.1)
        if (await pipelines.get(run.id)).step("sleep").status.value == "running":
            break
    await service.cancel_run(pipelines.runtime.uow(), run.id, pipelines.actor)
    await worker
    run = await pipelines.get(run.id)
    assert run.status.value == "cancelled"
    assert statuses(run) == {"sleep": "cancelled", "next": "cancelled", "cleanup": "success"}


async def test_concurrency_group_keeps_one_running_and_one_pending(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: deploy
        concurrency: deploy-${{ inputs.env }}
        inputs:
          env: {default: prod}
        steps:
          - id: wait
            approval: {approvers: [alice]}
        """
    )
    first = await pipelines.trigger("deploy")
    second = await pipelines.trigger("deploy")
    third = await pipelines.trigger("deploy")
    other_env = await pipelines.trigger("deploy", env="staging")
    states = {
        r.id: (await pipelines.get(r.id)).status.value for r in (first, second, third, other_env)
    }
    assert states == {
        first.id: "waiting",
        second.id: "cancelled",
        third.id: "queued",
        other_env.id: "waiting",
    }
    await service.decide_approval(
        pipelines.runtime.uow(), first.id, "wait", person("alice"), "approve"
    )
    await pipelines.work()
    assert (await pipelines.get(first.id)).status.value == "success"
    assert (await pipelines.get(third.id)).status.value == "waiting"


async def test_cancel_in_progress_replaces_the_running_run(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: preview
        concurrency: {group: preview, cancel_in_progress: true}
        steps:
          - id: wait
            approval: {approvers: [alice]}
        """
    )
    first = await pipelines.trigger("preview")
    second = await pipelines.trigger("preview")
    await pipelines.work()
    assert (await pipelines.get(first.id)).status.value == "cancelled"
    assert (await pipelines.get(second.id)).status.value == "waiting"


async def test_rerun_failed_reuses_the_outputs_of_successful_steps(
    pipelines: Pipelines, tmp_path: object
) -> None:
    await pipelines.register(
        """
        name: flaky
        inputs:
          fail: {type: boolean, default: true}
        steps:
          - id: build
            run: echo "token=$RANDOM$RANDOM" >> "$ORCHESTRATE_OUTPUT"
          - id: test
            needs: build
            run: test -f ok || { touch ok; exit 1; }
        """
    )
    first = await pipelines.run("flaky")
    assert first.status.value == "failure"
    again = await service.rerun(
        pipelines.runtime.uow(),
        pipelines.runtime.settings,
        first.id,
        pipelines.actor,
        failed_only=True,
    )
    await pipelines.work()
    again = await pipelines.get(again.id)
    assert again.rerun_of == first.id
    assert again.step("build").reused_from == first.id
    assert again.step("build").outputs == first.step("build").outputs


async def test_pipeline_step_runs_a_child_pipeline_and_waits(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: child
        inputs:
          who: {required: true}
        steps:
          - id: hello
            run: echo "said=hello ${{ inputs.who }}" >> "$ORCHESTRATE_OUTPUT"
        """
    )
    await pipelines.register(
        """
        name: parent
        steps:
          - id: call
            pipeline: child
            with: {who: world}
          - id: after
            needs: call
            run: echo "${{ needs.call.outputs.status }}"
        """
    )
    run = await pipelines.run("parent")
    assert run.status.value == "success"
    child = await pipelines.get(run.step("call").outputs["run_id"])
    assert child.step("hello").outputs == {"said": "hello world"}


async def test_a_run_past_its_timeout_fails_and_stops_its_steps(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: bounded
        timeout: 1
        steps:
          - id: hang
            run: sleep 60
          - id: after
            needs: hang
            run: echo never
        """
    )
    run = await pipelines.trigger("bounded")
    await pipelines.work(timeout=20)
    run = await pipelines.get(run.id)
    assert run.status.value == "failure"
    assert run.reason == "timed out after 1s"
    assert statuses(run) == {"hang": "cancelled", "after": "cancelled"}


@pytest.mark.parametrize(
    ("on_timeout", "expected"), [("approve", "success"), ("reject", "failure")]
)
async def test_an_unanswered_approval_decides_by_on_timeout(
    pipelines: Pipelines, on_timeout: str, expected: str
) -> None:
    await pipelines.register(
        f"""
        name: patient
        steps:
          - id: gate
            approval: {{approvers: [alice], timeout: 1, on_timeout: {on_timeout}}}
        """
    )
    run = await pipelines.trigger("patient")
    await asyncio.sleep(1.2)
    await pipelines.work()
    run = await pipelines.get(run.id)
    assert run.status.value == expected
    assert run.step("gate").outputs["timed_out"] == "true"


async def test_cancelling_one_step_skips_its_dependents_only(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: partial
        steps:
          - id: gate
            approval: {approvers: [alice]}
          - id: after_gate
            needs: gate
            run: echo gated
          - id: independent
            run: echo free
        """
    )
    run = await pipelines.run("partial")
    run = await service.cancel_step(pipelines.runtime.uow(), run.id, "gate", pipelines.actor)
    await pipelines.work()
    run = await pipelines.get(run.id)
    assert statuses(run) == {
        "gate": "cancelled",
        "after_gate": "skipped",
        "independent": "success",
    }
    assert run.step("after_gate").skip_reason == "needs 'gate', which was cancelled"
    assert run.status.value == "cancelled"


async def test_a_rerun_runs_the_spec_that_ran_not_a_later_edit(pipelines: Pipelines) -> None:
    await pipelines.register("name: edited\nsteps:\n  - id: a\n    run: exit 1\n")
    first = await pipelines.run("edited")
    await pipelines.register("name: edited\nsteps:\n  - id: b\n    run: 'true'\n")
    again = await service.rerun(
        pipelines.runtime.uow(), pipelines.runtime.settings, first.id, pipelines.actor
    )
    await pipelines.work()
    again = await pipelines.get(again.id)
    assert statuses(again) == {"a": "failure"}
    assert (again.number, again.status.value) == (2, "failure")
    assert statuses(await pipelines.run("edited")) == {"b": "success"}
