"""The pipeline pages: the list, one pipeline and its trigger form, the YAML editor."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.errors import NotFound
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service as pipelines
from tests.integration.dashboard.conftest import SignIn
from tests.integration.dashboard.pipeline_data import (
    GATED,
    location_run_id,
    pipeline_yaml,
    register,
    run_to_rest,
    shell,
    trigger,
)

pytestmark = pytest.mark.asyncio

CI_STEP = """\
name: integrate
steps:
  - id: integration
    ci:
      workflow: integration.yml
      ref: main
"""

TYPED = """\
name: typed
description: Takes one input of each type.
on:
  schedule:
    - cron: "0 3 * * *"
      timezone: Europe/Paris
  github:
    - event: pull_request
      actions: [opened]
inputs:
  who: {type: string, required: true, description: Whom to greet}
  times: {type: number, default: 2}
  loud: {type: boolean, default: false}
  color: {type: choice, options: [red, blue], default: blue}
  extra: {type: json}
steps:
  - id: build
    run: echo build
  - id: test
    needs: build
    run: echo test
  - id: lint
    needs: build
    run: echo lint
  - id: ship
    needs: [test, lint]
    run: echo "ship ${{ inputs.who }}"
"""


async def runs_of(runtime: Runtime, name: str) -> list[pipelines.PipelineRun]:
    return (await pipelines.list_runs(runtime.uow(read_only=True), pipeline=name)).items


async def exists(runtime: Runtime, name: str) -> bool:
    try:
        await pipelines.get_pipeline(runtime.uow(read_only=True), name)
    except NotFound:
        return False
    return True


class TestList:
    async def test_each_pipeline_shows_how_its_last_run_went(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, pipeline_yaml("hello", description="Says hello"))
        await register(runtime, pipeline_yaml("never"))
        await run_to_rest(runtime, "hello")
        await run_to_rest(runtime, "hello")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines")

        assert page.status_code == 200
        hello = re.search(r'href="/ui/pipelines/hello">hello</a>.*?</tr>', page.text, re.S)
        assert hello is not None
        assert "Says hello" in hello.group(0)
        assert ">#2</a>" in hello.group(0)
        assert "badge-good" in hello.group(0)
        never = re.search(r'href="/ui/pipelines/never">never</a>.*?</tr>', page.text, re.S)
        assert never is not None
        assert "never run" in never.group(0)
        assert "by hand only" in never.group(0)
        assert 'data-live="pipeline.run."' in page.text

    async def test_the_list_pages_by_name_with_a_cursor(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        for number in range(51):
            await register(runtime, pipeline_yaml(f"p{number:02d}"))
        browser = await sign_in(Role.VIEWER)

        first = await browser.get("/ui/pipelines")
        assert first.text.count('<a href="/ui/pipelines/p') == 50
        assert "/ui/pipelines/p50" not in first.text
        next_link = re.search(r'href="(\?cursor=[^"]+)" rel="next"', first.text)
        assert next_link is not None

        second = await browser.get("/ui/pipelines" + html.unescape(next_link.group(1)))
        assert second.status_code == 200
        assert "/ui/pipelines/p50" in second.text
        assert "/ui/pipelines/p00" not in second.text

    async def test_a_viewer_gets_no_new_pipeline_button(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines")

        assert "New pipeline" not in page.text
        operator = await sign_in(Role.OPERATOR)
        assert "New pipeline" in (await operator.get("/ui/pipelines")).text

    async def test_a_broken_cursor_is_a_422_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines?cursor=nonsense")

        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        assert "Invalid cursor" in page.text


class TestDetail:
    async def test_a_pipeline_shows_its_triggers_graph_steps_and_runs(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        run = await run_to_rest(runtime, "typed", who="ada")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines/typed")

        assert page.status_code == 200
        assert "Takes one input of each type." in page.text
        assert "Schedule: cron 0 3 * * * (Europe/Paris)" in page.text
        assert "GitHub: pull_request; actions opened" in page.text
        assert 'role="group" aria-labelledby="pipeline-graph-title pipeline-graph-desc"' in (
            page.text
        )
        assert page.text.count('class="edge"') == 4
        assert "ship (run) after test, lint" in page.text
        assert f'href="/ui/runs/{run.id}">#1</a>' in page.text
        assert 'id="pipeline-runs" data-live="pipeline.run."' in page.text

    async def test_a_ci_step_shows_its_workflow_and_ref(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, CI_STEP)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines/integrate")

        assert page.status_code == 200
        assert 'ci <span class="muted">integration.yml on main</span>' in page.text
        assert "integration (ci)" in page.text

    async def test_an_operator_gets_a_form_built_from_the_inputs(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get("/ui/pipelines/typed")

        assert re.search(
            r'<input id="input-0" name="input.who" type="text" value="" required', page.text
        )
        assert 'name="input.times" type="text" inputmode="decimal" value="2"' in page.text
        assert re.search(r'name="input.loud".*?<option value="false" selected>', page.text, re.S)
        assert re.search(r'name="input.color".*?<option value="blue" selected>', page.text, re.S)
        assert '<textarea id="input-4" name="input.extra"' in page.text
        assert 'aria-describedby="input-0-help"' in page.text
        assert '<label for="input-0">who (required)' in page.text

    async def test_an_unknown_pipeline_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines/nope")

        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "No pipeline named &#39;nope&#39;" in page.text


class TestTrigger:
    async def test_an_operator_starts_a_run_with_inputs_of_their_types(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        started = await browser.post(
            "/ui/pipelines/typed/trigger",
            {
                "input.who": "ada",
                "input.times": "3.5",
                "input.loud": "true",
                "input.color": "red",
                "input.extra": '{"a": [1]}',
            },
        )

        assert started.status_code == 303
        run_id = location_run_id(started.headers["location"])
        run = await pipelines.get_run(runtime.uow(read_only=True), run_id)
        assert run.inputs == {
            "who": "ada",
            "times": 3.5,
            "loud": True,
            "color": "red",
            "extra": {"a": [1]},
        }
        assert run.created_by == "token:test-operator"
        page = await browser.get(started.headers["location"])
        assert "Started run #1 of typed." in page.text
        audit = await auth.list_audit(runtime.uow(), actor="token:test-operator")
        assert "pipeline.trigger" in [record.action for record in audit.items]

    async def test_an_empty_field_takes_the_default(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        started = await browser.post(
            "/ui/pipelines/typed/trigger",
            {"input.who": "ada", "input.times": "", "input.extra": ""},
        )

        run = await pipelines.get_run(
            runtime.uow(read_only=True), location_run_id(started.headers["location"])
        )
        assert run.inputs == {
            "who": "ada",
            "times": 2,
            "loud": False,
            "color": "blue",
            "extra": None,
        }

    async def test_a_bad_value_is_refused_at_its_field_and_starts_nothing(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            "/ui/pipelines/typed/trigger", {"input.who": "ada", "input.times": "many"}
        )

        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        assert 'id="input-1-error">Input &#39;times&#39; must be a number' in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert 'value="many"' in refused.text  # the form comes back as it was sent
        assert 'value="ada"' in refused.text
        # live from the page it was on, not from the form it posted
        assert 'data-live-url="/ui/pipelines/typed?"' in refused.text
        assert await runs_of(runtime, "typed") == []

    async def test_a_missing_required_input_is_said_at_its_field(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post("/ui/pipelines/typed/trigger", {"input.who": ""})

        assert refused.status_code == 422
        assert (
            'id="input-0-error">Pipeline &#39;typed&#39; needs the input &#39;who&#39;'
            in refused.text
        )
        assert await runs_of(runtime, "typed") == []

    async def test_a_choice_outside_its_options_is_refused(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            "/ui/pipelines/typed/trigger", {"input.who": "ada", "input.color": "green"}
        )

        assert refused.status_code == 422
        assert "choose one of red, blue" in refused.text

    async def test_triggering_an_unknown_pipeline_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)

        page = await browser.post("/ui/pipelines/nope/trigger", {})

        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")


class TestEditor:
    async def test_a_new_pipeline_is_saved_from_the_editor(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        form = await browser.get("/ui/pipelines/new")
        assert form.status_code == 200
        assert 'data-line-numbers="yaml-lines"' in form.text
        assert "name: my-pipeline" in form.text

        saved = await browser.post("/ui/pipelines/new", {"yaml": GATED, "repo": ""})

        assert saved.status_code == 303
        assert saved.headers["location"] == "/ui/pipelines/gated"
        stored = await pipelines.get_pipeline(runtime.uow(read_only=True), "gated")
        assert (stored.version, stored.source) == (1, GATED)
        audit = await auth.list_audit(runtime.uow(), actor="token:test-operator")
        assert "pipeline.create" in [record.action for record in audit.items]

    async def test_a_template_can_be_the_starting_point(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)

        form = await browser.get("/ui/pipelines/new?template=ci")

        assert form.status_code == 200
        assert "name: ci" in form.text
        assert '<option value="ci" selected>' in form.text
        assert (await browser.get("/ui/pipelines/new?template=nope")).status_code == 404

    async def test_an_invalid_file_shows_each_problem_at_its_line_and_saves_nothing(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        text = (
            "name: broken\nsteps:\n  - id: a\n    run: echo a\n    needz: b\n"
            "  - id: c\n    needs: nowhere\n    run: echo c\n"
        )

        refused = await browser.post("/ui/pipelines/new", {"yaml": text})

        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        assert 'data-goto-line="5" data-editor="yaml">Line 5, column 5</a>' in refused.text
        assert "needz" in refused.text
        assert "Did you mean &#39;needs&#39;?" in refused.text
        assert 'data-goto-line="7"' in refused.text
        assert "nothing was saved" in refused.text
        assert str(escape(text)) in refused.text  # the text comes back as typed
        assert not await exists(runtime, "broken")

    async def test_broken_yaml_is_reported_at_its_line(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            "/ui/pipelines/new", {"yaml": "name: x\nsteps:\n  - id: a\n   run: [unclosed\n"}
        )

        assert refused.status_code == 422
        assert re.search(r'data-goto-line="4".*invalid YAML', refused.text)
        assert not await exists(runtime, "x")

    async def test_checking_a_file_saves_nothing(self, sign_in: SignIn, runtime: Runtime) -> None:
        browser = await sign_in(Role.OPERATOR)

        checked = await browser.post("/ui/pipelines/new", {"yaml": GATED, "intent": "check"})

        assert checked.status_code == 200
        assert "No problems found" in checked.text
        assert not await exists(runtime, "gated")

    async def test_checking_shows_notes_on_run_scripts(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)
        text = pipeline_yaml("noted", [shell("a", "echo '${{ inputs.x }}'")], inputs={"x": {}})

        checked = await browser.post("/ui/pipelines/new", {"yaml": text, "intent": "check"})

        assert checked.status_code == 200
        assert "notes-title" in checked.text
        assert 'data-goto-line="' in checked.text

    async def test_a_new_pipeline_may_not_take_an_existing_name(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, GATED)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            "/ui/pipelines/new", {"yaml": GATED.replace("Build,", "Make,")}
        )

        assert refused.status_code == 409
        assert "exists already; edit it instead" in refused.text
        assert 'data-goto-line="1"' in refused.text
        stored = await pipelines.get_pipeline(runtime.uow(read_only=True), "gated")
        assert stored.version == 1

    async def test_editing_saves_a_new_version_and_keeps_the_repository(
        self, sign_in: SignIn, runtime: Runtime, tmp_path: pytest.TempPathFactory
    ) -> None:
        await register(runtime, GATED)
        browser = await sign_in(Role.OPERATOR)
        form = await browser.get("/ui/pipelines/gated/edit")
        assert form.status_code == 200
        assert f">\n{escape(GATED)}</textarea>" in form.text

        changed = GATED.replace("Build, wait for a person, ship.", "Ship with care.")
        saved = await browser.post(
            "/ui/pipelines/gated/edit", {"yaml": changed, "repo": "/srv/app"}
        )

        assert saved.status_code == 303
        assert saved.headers["location"] == "/ui/pipelines/gated"
        stored = await pipelines.get_pipeline(runtime.uow(read_only=True), "gated")
        assert (stored.version, stored.description, stored.repo_path) == (
            2,
            "Ship with care.",
            "/srv/app",
        )
        again = await browser.get("/ui/pipelines/gated/edit")
        assert 'value="/srv/app"' in again.text

    async def test_renaming_in_the_editor_is_refused_at_the_name_line(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, GATED)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            "/ui/pipelines/gated/edit", {"yaml": GATED.replace("name: gated", "name: other")}
        )

        assert refused.status_code == 422
        assert 'data-goto-line="1"' in refused.text
        assert "the request is for &#39;gated&#39;" in refused.text
        assert not await exists(runtime, "other")

    async def test_editing_an_unknown_pipeline_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)

        assert (await browser.get("/ui/pipelines/nope/edit")).status_code == 404
        posted = await browser.post("/ui/pipelines/nope/edit", {"yaml": GATED})
        assert posted.status_code == 404

    async def test_a_file_reading_secrets_needs_an_admin_and_is_not_saved(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        text = pipeline_yaml(
            "secretive", [shell("a", "echo hi", env={"T": "${{ secrets.TOKEN }}"})]
        )

        refused = await browser.post("/ui/pipelines/new", {"yaml": text})

        assert refused.status_code == 403
        assert "Only an admin may register a pipeline that reads secrets" in refused.text
        assert 'name="yaml"' in refused.text  # the editor, with the text kept
        assert not await exists(runtime, "secretive")

    async def test_deleting_a_pipeline_keeps_its_runs(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, pipeline_yaml("hello"))
        run = await trigger(runtime, "hello")
        browser = await sign_in(Role.OPERATOR)

        deleted = await browser.post("/ui/pipelines/hello/delete")

        assert deleted.status_code == 303
        assert deleted.headers["location"] == "/ui/pipelines"
        assert not await exists(runtime, "hello")
        assert (await pipelines.get_run(runtime.uow(read_only=True), run.id)).pipeline == "hello"
        assert (await browser.post("/ui/pipelines/hello/delete")).status_code == 404


class TestWhoMay:
    async def test_a_viewer_sees_no_controls_and_is_refused_every_change(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/pipelines/typed")
        assert page.status_code == 200
        assert "Start a run" not in page.text
        assert "/edit" not in page.text
        assert "/delete" not in page.text

        for path, data in (
            ("/ui/pipelines/typed/trigger", {"input.who": "x"}),
            ("/ui/pipelines/new", {"yaml": GATED}),
            ("/ui/pipelines/typed/edit", {"yaml": TYPED}),
            ("/ui/pipelines/typed/delete", {}),
        ):
            refused = await browser.post(path, data)
            assert refused.status_code == 403, path
        for path in ("/ui/pipelines/new", "/ui/pipelines/typed/edit"):
            assert (await browser.get(path)).status_code == 403, path
        assert await runs_of(runtime, "typed") == []
        assert not await exists(runtime, "gated")
        assert (await pipelines.get_pipeline(runtime.uow(read_only=True), "typed")).version == 1

    async def test_a_post_without_the_csrf_token_is_refused(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await register(runtime, TYPED)
        browser = await sign_in(Role.OPERATOR)

        for path, data in (
            ("/ui/pipelines/typed/trigger", {"input.who": "x"}),
            ("/ui/pipelines/new", {"yaml": GATED}),
            ("/ui/pipelines/typed/edit", {"yaml": TYPED}),
            ("/ui/pipelines/typed/delete", {}),
        ):
            refused = await browser.http.post(path, data=data)
            assert refused.status_code == 403, path
            assert "security token" in refused.text
        assert await runs_of(runtime, "typed") == []
        assert await exists(runtime, "typed")
        assert not await exists(runtime, "gated")

    async def test_an_admin_may_register_a_file_that_reads_secrets(
        self, sign_in: SignIn, runtime: Runtime, admin: Actor
    ) -> None:
        from orchestrate.secrets import service as secrets

        await secrets.set_secret(runtime.uow(), runtime.settings, "TOKEN", "s3cret", admin)
        browser = await sign_in(Role.ADMIN)
        text = pipeline_yaml(
            "secretive", [shell("a", "echo hi", env={"T": "${{ secrets.TOKEN }}"})]
        )

        saved = await browser.post("/ui/pipelines/new", {"yaml": text})

        assert saved.status_code == 303
        assert await exists(runtime, "secretive")
