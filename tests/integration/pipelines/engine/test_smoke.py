from __future__ import annotations

from tests.integration.pipelines.engine.conftest import Pipelines, statuses


async def test_three_step_chain_succeeds_with_outputs(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
        name: chain
        steps:
          - id: a
            run: echo "greeting=hello" >> "$ORCHESTRATE_OUTPUT"
          - id: b
            needs: a
            run: echo "${{ needs.a.outputs.greeting }} world"
          - id: c
            needs: b
            if: failure()
            run: echo never
        """
    )
    run = await pipelines.run("chain")
    assert run.status.value == "success", run
    assert statuses(run) == {"a": "success", "b": "success", "c": "skipped"}
    assert run.step("a").outputs == {"greeting": "hello"}
