"""The run pages: the list, one run (graph, steps, logs), its actions and its log stream."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrate.auth import service as auth
from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service as pipelines
from tests.integration.dashboard.conftest import Browser, SignIn
from tests.integration.dashboard.pipeline_data import (
    GATED,
    location_run_id,
    pipeline_yaml,
    register,
    run_to_rest,
    shell,
    trigger,
    work,
)

pytestmark = pytest.mark.asyncio

CHAIN = pipeline_yaml(
    "chain",
    [
        shell("build", 'echo "build done"\necho "artifact=app.tar" >> "$ORCHESTRATE_OUTPUT"'),
        shell("test", "echo testing", needs="build"),
        shell("ship", "exit 3", needs="test"),
    ],
)
CHATTY = pipeline_yaml(
    "chatty", [shell("talk", 'for i in $(seq 1 20000); do echo "line $i"; done')]
)


async def get_run(runtime: Runtime, run_id: str) -> pipelines.PipelineRun:
    return await pipelines.get_run(runtime.uow(read_only=True), run_id)


def sse_events(body: str) -> list[tuple[str, Any]]:
    """``(event name, data)`` of each event of a finished Server-Sent Events body."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "data" in fields:
            found.append((fields.get("event", "message"), json.loads(fields["data"])))
    return found


async def waiting_run(runtime: Runtime) -> pipelines.PipelineRun:
    await register(runtime, GATED)
    run = await run_to_rest(runtime, "gated")
    assert run.status is pipelines.RunStatus.WAITING
    return run


class TestList:
    async def test_runs_are_filtered_by_pipeline_and_status(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        await register(runtime, pipeline_yaml("hello"))
        failed = await run_to_rest(runtime, "chain")
        hello = await run_to_rest(runtime, "hello")
        browser = await sign_in(Role.VIEWER)

        everything = await browser.get("/ui/runs")
        assert everything.status_code == 200
        assert f"/ui/runs/{failed.id}" in everything.text
        assert f"/ui/runs/{hello.id}" in everything.text
        assert 'id="runs-table" data-live="pipeline.run."' in everything.text

        chain = await browser.get("/ui/runs?pipeline=chain")
        assert f"/ui/runs/{failed.id}" in chain.text
        assert f"/ui/runs/{hello.id}" not in chain.text

        succeeded = await browser.get("/ui/runs?status=success")
        assert f"/ui/runs/{hello.id}" in succeeded.text
        assert f"/ui/runs/{failed.id}" not in succeeded.text

        none = await browser.get("/ui/runs?pipeline=chain&status=success")
        assert "No runs match these filters." in none.text

    async def test_the_list_pages_newest_first_with_a_cursor(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, pipeline_yaml("hello"))
        runs = [await trigger(runtime, "hello") for _ in range(51)]
        browser = await sign_in(Role.VIEWER)

        first = await browser.get("/ui/runs")
        assert first.text.count('<a href="/ui/runs/prun_') == 50
        assert f"/ui/runs/{runs[0].id}" not in first.text  # the oldest is on the next page
        next_link = re.search(r'href="(\?cursor=[^"]+)" rel="next"', first.text)
        assert next_link is not None

        second = await browser.get("/ui/runs" + html.unescape(next_link.group(1)))
        assert f"/ui/runs/{runs[0].id}" in second.text
        assert second.text.count('<a href="/ui/runs/prun_') == 1

    async def test_an_unknown_status_is_a_422_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/runs?status=sleeping")

        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        assert "Unknown run status" in page.text


class TestDetail:
    async def test_a_run_shows_its_graph_steps_outputs_and_logs(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        run = await run_to_rest(runtime, "chain")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/runs/{run.id}")

        assert page.status_code == 200
        text = page.text
        assert "<h1>chain #1</h1>" in text
        assert 'role="group" aria-labelledby="run-graph-title run-graph-desc"' in text
        assert '<a href="#step-build" class="node good" data-step="build">' in text
        assert '<a href="#step-ship" class="node bad" data-step="ship">' in text
        assert "build (success); test (success) after build; ship (failure) after test." in text
        assert '<article class="step" id="step-build"' in text
        assert '<th scope="row" class="mono">artifact</th><td class="mono">app.tar</td>' in text
        assert re.search(
            r'<pre class="log" id="step-build-log" hx-preserve="true"[^>]*>[^<]*build done', text
        )
        assert '<p class="error-box">exited with code 3</p>' in text
        assert 'src="/ui/static/logs.js" defer' in text
        assert f'data-logs-url="/ui/runs/{run.id}/logs"' in text

    async def test_the_state_part_is_served_alone_for_live_refresh(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.VIEWER)

        part = await browser.get(f"/ui/runs/{run.id}/state")

        assert part.status_code == 200
        assert part.text.lstrip().startswith('<div id="run-state"')
        assert '<a href="#step-release" class="node warn" data-step="release">' in part.text
        assert "<html" not in part.text

    async def test_an_unknown_run_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        for path in ("/ui/runs/prun_nope", "/ui/runs/prun_nope/state", "/ui/runs/prun_nope/logs"):
            page = await browser.get(path)
            assert page.status_code == 404, path
            assert page.headers["content-type"].startswith("text/html"), path
            assert "No pipeline run prun_nope" in page.text, path


class TestApprovals:
    async def test_an_approver_approves_and_the_run_goes_on(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)
        page = await browser.get(f"/ui/runs/{run.id}")
        assert "Approve release" in page.text

        approved = await browser.post(
            f"/ui/runs/{run.id}/approve", {"step": "release", "comment": "ship it"}
        )

        assert approved.status_code == 303
        assert approved.headers["location"] == f"/ui/runs/{run.id}"
        await work(runtime)
        done = await get_run(runtime, run.id)
        assert done.status is pipelines.RunStatus.SUCCESS
        decision = done.step("release").approvals[0]
        assert (decision.by, decision.decision, decision.comment) == (
            "test-operator",
            "approve",
            "ship it",
        )
        after = await browser.get(f"/ui/runs/{run.id}")
        assert "Approve release" not in after.text
        assert "ship it" in after.text

    async def test_an_approver_rejects_and_the_step_fails(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)

        rejected = await browser.post(
            f"/ui/runs/{run.id}/reject", {"step": "release", "comment": "not today"}
        )

        assert rejected.status_code == 303
        await work(runtime)
        done = await get_run(runtime, run.id)
        assert done.step("release").status is pipelines.StepStatus.FAILURE
        assert done.status is pipelines.RunStatus.FAILURE
        audit = await auth.list_audit(runtime.uow(), actor="token:test-operator")
        assert "pipeline.step.reject" in [record.action for record in audit.items]

    async def test_someone_not_named_an_approver_gets_no_buttons_and_is_refused(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.ADMIN)

        page = await browser.get(f"/ui/runs/{run.id}")
        assert "Approve release" not in page.text
        assert "Waiting for test-operator" in page.text

        refused = await browser.post(f"/ui/runs/{run.id}/approve", {"step": "release"})
        assert refused.status_code == 403
        assert "may not approve step" in refused.text
        assert (await get_run(runtime, run.id)).status is pipelines.RunStatus.WAITING

    async def test_approving_a_step_that_is_no_approval_is_a_409_page(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/runs/{run.id}/approve", {"step": "build"})

        assert refused.status_code == 409
        assert "is not an approval step" in refused.text
        assert refused.headers["content-type"].startswith("text/html")
        missing = await browser.post(f"/ui/runs/{run.id}/approve", {"step": "nope"})
        assert missing.status_code == 404


class TestControl:
    async def test_an_operator_cancels_a_run(self, sign_in: SignIn, runtime: Runtime) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)
        assert "Cancel run" in (await browser.get(f"/ui/runs/{run.id}")).text

        cancelled = await browser.post(f"/ui/runs/{run.id}/cancel")

        assert cancelled.status_code == 303
        await work(runtime)
        assert (await get_run(runtime, run.id)).status is pipelines.RunStatus.CANCELLED

    async def test_an_operator_cancels_one_step(self, sign_in: SignIn, runtime: Runtime) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)

        cancelled = await browser.post(f"/ui/runs/{run.id}/cancel-step", {"step": "release"})

        assert cancelled.status_code == 303
        await work(runtime)
        assert (await get_run(runtime, run.id)).step(
            "release"
        ).status is pipelines.StepStatus.CANCELLED

    async def test_re_running_the_failed_steps_reuses_the_successful_ones(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        failed = await run_to_rest(runtime, "chain")
        browser = await sign_in(Role.OPERATOR)
        page = await browser.get(f"/ui/runs/{failed.id}")
        assert "Re-run failed steps" in page.text

        again = await browser.post(f"/ui/runs/{failed.id}/rerun", {"failed": "true"})

        assert again.status_code == 303
        rerun = await get_run(runtime, location_run_id(again.headers["location"]))
        assert rerun.rerun_of == failed.id
        assert rerun.step("build").reused_from == failed.id
        assert rerun.number == 2

    async def test_re_running_all_runs_every_step_again(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        failed = await run_to_rest(runtime, "chain")
        browser = await sign_in(Role.OPERATOR)

        again = await browser.post(f"/ui/runs/{failed.id}/rerun", {"failed": "false"})

        rerun = await get_run(runtime, location_run_id(again.headers["location"]))
        assert rerun.step("build").reused_from is None

    async def test_re_running_a_live_run_is_a_409_page(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/runs/{run.id}/rerun", {"failed": "false"})

        assert refused.status_code == 409
        assert "cancel it or wait for it to end" in refused.text

    async def test_a_bad_form_value_is_a_422_page(self, sign_in: SignIn, runtime: Runtime) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/runs/{run.id}/rerun", {"failed": "perhaps"})
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        no_step = await browser.post(f"/ui/runs/{run.id}/approve", {})
        assert no_step.status_code == 422

    async def test_a_viewer_sees_no_controls_and_is_refused_every_action(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/runs/{run.id}")
        assert page.text.count('method="post"') == 1  # signing out

        await assert_refused(browser, run.id, 403, with_csrf=True)
        assert (await get_run(runtime, run.id)).status is pipelines.RunStatus.WAITING

    async def test_posts_without_the_csrf_token_are_refused(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_run(runtime)
        browser = await sign_in(Role.OPERATOR)

        await assert_refused(browser, run.id, 403, with_csrf=False)
        assert (await get_run(runtime, run.id)).status is pipelines.RunStatus.WAITING


async def assert_refused(browser: Browser, run_id: str, status: int, *, with_csrf: bool) -> None:
    for action, data in (
        ("approve", {"step": "release"}),
        ("reject", {"step": "release"}),
        ("cancel", {}),
        ("cancel-step", {"step": "release"}),
        ("rerun", {"failed": "true"}),
    ):
        path = f"/ui/runs/{run_id}/{action}"
        response = await (
            browser.post(path, data) if with_csrf else browser.http.post(path, data=data)
        )
        assert response.status_code == status, path


class TestLogs:
    async def test_a_long_log_is_shown_by_its_tail_and_paged_back(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHATTY)
        run = await run_to_rest(runtime, "chatty")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/runs/{run.id}")
        assert "line 20000\n</pre>" in page.text
        assert "line 1\n" not in page.text
        assert "the whole log is on its own page" in page.text

        tail = await browser.get(f"/ui/runs/{run.id}/log?step=talk")
        assert tail.status_code == 200
        assert "line 20000" in tail.text
        earlier = re.search(r'href="([^"]+)" rel="prev"', tail.text)
        assert earlier is not None
        back = await browser.get(html.unescape(earlier.group(1)))
        assert back.status_code == 200
        assert "line 20000" not in back.text
        last_before = re.findall(r"line (\d+)\n", back.text)[-1]
        first_of_tail = re.findall(r"line (\d+)\n", tail.text)[0]
        assert int(last_before) + 1 == int(first_of_tail)  # no line lost or shown twice
        later = re.search(r'href="([^"]+)" rel="next"', back.text)
        assert later is not None
        forward = await browser.get(html.unescape(later.group(1)))
        assert re.findall(r"line (\d+)\n", forward.text)[0] == first_of_tail

    async def test_the_log_page_of_an_unknown_step_is_a_404(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        run = await run_to_rest(runtime, "chain")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/runs/{run.id}/log?step=nope")

        assert page.status_code == 404
        assert "has no step &#39;nope&#39;" in page.text

    async def test_a_step_without_a_log_here_says_so(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        run = await run_to_rest(runtime, "chain")
        log_path = run.step("build").log_path
        assert log_path is not None
        Path(log_path).unlink()
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/runs/{run.id}/log?step=build")

        assert page.status_code == 200
        assert "There is no log of this step here" in page.text
        assert (await browser.get(f"/ui/runs/{run.id}")).status_code == 200

    async def test_the_stream_sends_what_follows_each_offset_then_ends(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        run = await run_to_rest(runtime, "chain")
        build_log = Path(str(run.step("build").log_path)).read_bytes()
        held = build_log.index(b"build done")  # offsets are bytes: the header has "──"
        browser = await sign_in(Role.VIEWER)

        stream = await browser.get(
            f"/ui/runs/{run.id}/logs?after=0&step=build&offset={held}&step=test&offset=0"
        )

        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.text)
        logs = {data["step"]: data for name, data in events if name == "log"}
        assert logs["build"]["text"] == build_log[held:].decode()
        assert (logs["build"]["start"], logs["build"]["end"]) == (held, len(build_log))
        assert "testing" in logs["test"]["text"]
        assert events[-1] == ("end", {"status": "failure"})

    async def test_the_stream_needs_its_offsets_in_pairs(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CHAIN)
        run = await run_to_rest(runtime, "chain")
        browser = await sign_in(Role.VIEWER)

        refused = await browser.get(f"/ui/runs/{run.id}/logs?step=build")

        assert refused.status_code == 422
        assert "in pairs" in refused.text
