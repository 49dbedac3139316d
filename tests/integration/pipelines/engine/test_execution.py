"""The executor as a user sees it: step statuses, outputs, skips, retries, timeouts, matrices."""

from __future__ import annotations

import asyncio

from tests.integration.pipelines.engine.conftest import Pipelines, statuses
from tests.support import sleeping_processes


def meet(here: str, there: str) -> str:
    """A step that says it started, then succeeds only if the other one starts meanwhile.

    The marks are in the run's workspace, which its steps share. Run one after the
    other, the first would give up waiting (after 20 s, a guard against a hang, not a
    measurement) and fail.
    """
    return (
        f"touch {here}; for _ in $(seq 200); do "
        f"if [ -e {there} ]; then exit 0; fi; sleep 0.1; done; exit 1"
    )


async def test_steps_without_needs_start_in_parallel(pipelines: Pipelines) -> None:
    await pipelines.register(
        f"""
        name: fan
        steps:
          - id: left
            run: {meet("left-started", "right-started")}
          - id: right
            run: {meet("right-started", "left-started")}
          - id: join
            needs: [left, right]
            run: echo joined
        """
    )
    run = await pipelines.run("fan")
    assert run.status.value == "success"
    assert statuses(run) == {"left": "success", "right": "success", "join": "success"}


async def test_failed_step_skips_dependents_with_a_reason(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: broken
        steps:
          - id: test
            run: exit 3
          - id: deploy
            needs: test
            run: echo deploying
          - id: report
            needs: test
            if: failure()
            run: echo "reporting"
          - id: tidy
            needs: deploy
            if: always()
            run: echo tidy
        """
    )
    run = await pipelines.run("broken")
    assert run.status.value == "failure"
    assert statuses(run) == {
        "test": "failure",
        "deploy": "skipped",
        "report": "success",
        "tidy": "success",
    }
    assert run.step("test").error == "exited with code 3"
    assert run.step("deploy").skip_reason == "needs 'test', which failed"


async def test_condition_false_is_skipped_with_the_condition_as_reason(
    pipelines: Pipelines,
) -> None:
    await pipelines.register(
        """
        name: gated
        inputs:
          deploy: {type: boolean, default: false}
        steps:
          - id: ship
            if: ${{ inputs.deploy }}
            run: echo shipping
        """
    )
    run = await pipelines.run("gated")
    assert run.status.value == "success"
    assert run.step("ship").status.value == "skipped"
    assert run.step("ship").skip_reason == "its condition was false: ${{ inputs.deploy }}"
    run = await pipelines.run("gated", deploy="true")
    assert run.step("ship").status.value == "success"


async def test_continue_on_error_keeps_the_run_green(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: lenient
        steps:
          - id: flaky
            continue_on_error: true
            run: exit 1
          - id: after
            needs: flaky
            run: echo "${{ needs.flaky.result }} ${{ steps.flaky.outcome }}"
        """
    )
    run = await pipelines.run("lenient")
    assert run.status.value == "success"
    flaky = run.step("flaky")
    assert (flaky.status.value, flaky.conclusion and flaky.conclusion.value) == (
        "failure",
        "success",
    )
    assert run.step("after").status.value == "success"


async def test_multiline_outputs_use_the_heredoc_form(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: notes
        steps:
          - id: write
            run: |
              {
                echo "notes<<EOF"
                echo "line one"
                echo "line two"
                echo "EOF"
                echo "count=2"
              } >> "$ORCHESTRATE_OUTPUT"
        """
    )
    run = await pipelines.run("notes")
    assert run.step("write").outputs == {"notes": "line one\nline two", "count": "2"}


async def test_a_step_is_retried_until_it_succeeds(pipelines: Pipelines) -> None:
    counter = "attempts.count"  # in the run's workspace, which every attempt shares
    await pipelines.register(
        f"""
        name: retrying
        steps:
          - id: flaky
            retry: {{attempts: 3, backoff: 1, factor: 1}}
            run: |
              echo x >> {counter}
              test "$(wc -l < {counter})" -ge 2
              echo "attempt=$ORCHESTRATE_STEP_ATTEMPT" >> "$ORCHESTRATE_OUTPUT"
        """
    )
    run = await pipelines.trigger("retrying")
    for _ in range(300):  # the retry is due after 1 s; 30 s is only a guard against a hang
        await pipelines.work()
        run = await pipelines.get(run.id)
        if run.status.is_terminal:
            break
        await asyncio.sleep(0.1)
    assert run.status.value == "success"
    assert run.step("flaky").attempts == 2
    assert run.step("flaky").outputs == {"attempt": "2"}


async def test_timeout_ends_the_whole_process_group(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: slow
        steps:
          - id: hang
            timeout: 1
            run: |
              sleep 3600.401 &
              wait
        """
    )
    run = await asyncio.wait_for(pipelines.run("slow"), 60)  # a guard; the sleep takes an hour
    assert run.status.value == "failure"
    assert run.step("hang").error == "timed out after 1s"
    assert not sleeping_processes("3600.401")


async def test_matrix_runs_each_combination(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: grid
        steps:
          - id: test
            matrix:
              python: ["3.11", "3.12"]
              os: [linux]
              include:
                - python: "3.13"
                  os: linux
                  experimental: true
            run: echo "seen_${{ matrix.python }}=${{ matrix.os }}" >> "$ORCHESTRATE_OUTPUT"
          - id: after
            needs: test
            run: echo "${{ needs.test.result }}"
        """
    )
    run = await pipelines.run("grid")
    assert run.status.value == "success"
    assert statuses(run) == {
        "test": "success",
        "test[1]": "success",
        "test[2]": "success",
        "test[3]": "success",
        "after": "success",
    }
    assert run.step("test[3]").matrix == {"python": "3.13", "os": "linux", "experimental": True}
    assert run.step("test").outputs == {
        "seen_3.11": "linux",
        "seen_3.12": "linux",
        "seen_3.13": "linux",
    }


async def test_a_failing_matrix_instance_fails_the_step(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: grid-fail
        steps:
          - id: test
            matrix: {n: [1, 2, 3], max_parallel: 1}
            run: test ${{ matrix.n }} -ne 2
        """
    )
    run = await pipelines.run("grid-fail")
    assert run.status.value == "failure"
    assert statuses(run)["test[2]"] == "failure"
    assert statuses(run)["test"] == "failure"
