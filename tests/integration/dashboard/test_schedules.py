"""The schedules pages: the list with next and last fires, one schedule with its fire
history, the create form, and pause / resume / trigger / delete (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import service as schedules
from tests.integration.dashboard.conftest import SignIn
from tests.integration.pipelines.conftest import pipeline_yaml

pytestmark = pytest.mark.asyncio


async def nightly(runtime: Runtime, admin: Actor) -> None:
    await pipelines.register_pipeline(
        runtime.uow(), pipelines.PipelineSource(pipeline_yaml("nightly")), admin
    )


async def schedule(
    runtime: Runtime, admin: Actor, name: str = "every-night", cron: str = "0 3 * * *"
) -> schedules.Schedule:
    request = schedules.NewSchedule(name=name, cron=cron, pipeline="nightly")
    return await schedules.create_schedule(runtime.uow(), runtime.settings, request, admin)


async def stored_names(runtime: Runtime) -> list[str]:
    return [s.name for s in await schedules.list_schedules(runtime.uow(read_only=True))]


def form(**fields: str) -> dict[str, str]:
    """The create form as a person fills it in for the pipeline ``nightly``."""
    return {
        "name": "weekday-mornings",
        "cron": "0 9 * * 1-5",
        "template": "",
        "timezone": "Europe/Paris",
        "target": "pipeline",
        "pipeline": "nightly",
        "inputs": "",
        "agent": "",
        "task": "",
        "misfire": "latest",
        "misfire_cap": "10",
        "overlap": "skip",
        **fields,
    }


class TestList:
    async def test_the_list_shows_next_fires_and_the_last_fire_with_its_outcome(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        fired = await schedule(runtime, admin, "fired")
        await schedule(runtime, admin, "quiet")
        await schedules.trigger_now(runtime.uow(), runtime.settings, "fired", admin)
        await schedules.set_paused(runtime.uow(), "quiet", admin, is_paused=True)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/schedules")

        assert page.status_code == 200
        assert f'href="/ui/schedules/{fired.id}"' in page.text
        assert "0 3 * * *" in page.text
        assert "badge-good" in page.text
        assert ">started<" in page.text
        assert "(by hand)" in page.text
        assert ">paused<" in page.text
        assert "never" in page.text  # quiet never fired
        assert "New schedule" not in page.text  # a viewer gets no control

    async def test_the_list_pages_fifty_at_a_time(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        for n in range(51):
            await schedule(runtime, admin, f"s-{n:02d}")
        browser = await sign_in(Role.VIEWER)

        first = await browser.get("/ui/schedules")
        assert first.text.count('href="/ui/schedules/sched_') == 50
        found = re.search(r'href="\?cursor=([^"]+)" rel="next"', first.text)
        assert found
        second = await browser.get(f"/ui/schedules?cursor={found.group(1)}")

        assert second.text.count('href="/ui/schedules/sched_') == 1
        assert ">s-50<" in second.text
        assert 'rel="next"' not in second.text

    async def test_a_bad_cursor_is_a_4xx_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)
        bad = await browser.get("/ui/schedules?cursor=not-a-cursor")
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")


class TestDetail:
    async def test_a_schedule_shows_its_definition_upcoming_times_and_fires(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        created = await schedule(runtime, admin)
        fire = await schedules.trigger_now(runtime.uow(), runtime.settings, created.id, admin)
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get(f"/ui/schedules/{created.id}")

        assert page.status_code == 200
        assert "<h1>Schedule every-night</h1>" in page.text
        assert "At 03:00" in page.text or "03:00" in page.text  # the cron in words
        assert page.text.count("<li><time") == 5  # the next five fire times
        assert f'href="/ui/runs/{fire.run_id}"' in page.text
        for action in ("pause", "trigger", "delete"):
            assert f'action="/ui/schedules/{created.id}/{action}"' in page.text

    async def test_the_fire_history_pages_fifty_at_a_time(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        created = await schedule(runtime, admin)
        for _ in range(51):
            await schedules.trigger_now(runtime.uow(), runtime.settings, created.id, admin)
        browser = await sign_in(Role.VIEWER)

        first = await browser.get(f"/ui/schedules/{created.id}")
        assert first.text.count('href="/ui/runs/') == 50
        found = re.search(r'href="\?cursor=([^"]+)" rel="next"', first.text)
        assert found
        second = await browser.get(f"/ui/schedules/{created.id}?cursor={found.group(1)}")
        assert second.text.count('href="/ui/runs/') == 1

    async def test_a_viewer_sees_no_controls(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        created = await schedule(runtime, admin)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/schedules/{created.id}")

        assert page.status_code == 200
        assert f"/ui/schedules/{created.id}/" not in page.text

    async def test_an_unknown_schedule_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        missing = await browser.get("/ui/schedules/sched_nope")

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "No schedule" in missing.text


class TestCreate:
    async def test_an_operator_creates_a_schedule_from_the_form(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        browser = await sign_in(Role.OPERATOR)
        blank = await browser.get("/ui/schedules/new")
        assert blank.status_code == 200
        assert '<option value="nightly">' in blank.text

        created = await browser.post("/ui/schedules", form(inputs="greeting=hello\ntarget = world"))

        assert created.status_code == 303
        [stored] = await schedules.list_schedules(runtime.uow(read_only=True))
        assert created.headers["location"] == f"/ui/schedules/{stored.id}"
        assert (stored.name, stored.cron, stored.timezone) == (
            "weekday-mornings",
            "0 9 * * 1-5",
            "Europe/Paris",
        )
        assert stored.inputs == {"greeting": "hello", "target": " world"}
        assert stored.source == "dashboard"
        shown = await browser.get(created.headers["location"])
        assert "Created schedule weekday-mornings" in shown.text  # the one-shot message

    async def test_an_agent_schedule_takes_the_type_and_task(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        created = await browser.post(
            "/ui/schedules",
            form(target="agent", pipeline="", agent="story-developer", task="Tidy the README"),
        )

        assert created.status_code == 303
        [stored] = await schedules.list_schedules(runtime.uow(read_only=True))
        assert (stored.agent_type, stored.task, stored.pipeline) == (
            "story-developer",
            "Tidy the README",
            None,
        )

    async def test_an_invalid_cron_gives_the_form_back_with_the_error_and_saves_nothing(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post("/ui/schedules", form(cron="61 * * * *"))

        assert refused.status_code == 422
        assert "minute 61 is out of range" in refused.text
        assert 'id="err-cron"' in refused.text  # beside its field
        assert 'aria-invalid="true" aria-describedby="err-cron"' in refused.text
        assert 'value="weekday-mornings"' in refused.text  # filled in as it was
        assert await stored_names(runtime) == []

    @pytest.mark.parametrize(
        ("fields", "status", "field", "words"),
        [
            ({"timezone": "Europe/Berln"}, 422, "timezone", "Unknown time zone"),
            ({"pipeline": "missing"}, 422, "pipeline", "missing"),
            ({"target": "agent", "agent": "nobody", "task": "x"}, 422, "agent", "agent type"),
            ({"cron": "", "template": ""}, 422, "cron", "either"),
            ({"misfire_cap": "lots"}, 422, "misfire_cap", "whole number"),
            ({"inputs": "no equals sign"}, 422, "inputs", "NAME=VALUE"),
            ({"name": "pipeline:sneaky"}, 422, "name", "pipeline"),
        ],
    )
    async def test_bad_input_gives_the_form_back_saying_what_is_wrong(
        self,
        runtime: Runtime,
        admin: Actor,
        sign_in: SignIn,
        fields: dict[str, str],
        status: int,
        field: str,
        words: str,
    ) -> None:
        await nightly(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post("/ui/schedules", form(**fields))

        assert refused.status_code == status
        assert f'id="err-{field}"' in refused.text
        assert words in refused.text
        assert await stored_names(runtime) == []

    async def test_a_taken_name_is_a_conflict_shown_on_the_form(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        await schedule(runtime, admin, "weekday-mornings")
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post("/ui/schedules", form())

        assert refused.status_code == 409
        assert 'id="err-name"' in refused.text
        assert await stored_names(runtime) == ["weekday-mornings"]

    async def test_a_viewer_cannot_open_the_form_nor_post_it(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        browser = await sign_in(Role.VIEWER)

        assert (await browser.get("/ui/schedules/new")).status_code == 403
        assert (await browser.post("/ui/schedules", form())).status_code == 403
        assert await stored_names(runtime) == []

    async def test_a_create_without_the_csrf_token_is_refused(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        forged = await browser.http.post("/ui/schedules", data=form())

        assert forged.status_code == 403
        assert await stored_names(runtime) == []


class TestActions:
    async def test_an_operator_pauses_resumes_and_triggers_a_schedule(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        created = await schedule(runtime, admin)
        browser = await sign_in(Role.OPERATOR)
        here = f"/ui/schedules/{created.id}"

        paused = await browser.post(f"{here}/pause")
        assert (paused.status_code, paused.headers["location"]) == (303, here)
        assert (await schedules.get_schedule(runtime.uow(read_only=True), created.id)).is_paused
        page = await browser.get(here)
        assert "Paused every-night" in page.text
        assert f'action="{here}/resume"' in page.text

        resumed = await browser.post(f"{here}/resume")
        assert resumed.status_code == 303
        assert not (await schedules.get_schedule(runtime.uow(read_only=True), created.id)).is_paused

        fired = await browser.post(f"{here}/trigger")
        assert fired.status_code == 303
        [fire] = (await schedules.list_fires(runtime.uow(read_only=True), created.id)).items
        assert fire.is_manual
        assert fire.run_id is not None
        assert "Fired now (started)" in (await browser.get(here)).text

    async def test_an_operator_deletes_a_schedule(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await nightly(runtime, admin)
        created = await schedule(runtime, admin)
        browser = await sign_in(Role.OPERATOR)

        deleted = await browser.post(f"/ui/schedules/{created.id}/delete")

        assert (deleted.status_code, deleted.headers["location"]) == (303, "/ui/schedules")
        assert await stored_names(runtime) == []

    @pytest.mark.parametrize("action", ["pause", "resume", "trigger", "delete"])
    async def test_a_viewer_and_a_post_without_csrf_are_refused(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn, action: str
    ) -> None:
        await nightly(runtime, admin)
        created = await schedule(runtime, admin)
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)
        target = f"/ui/schedules/{created.id}/{action}"

        assert (await viewer.post(target)).status_code == 403
        assert (await operator.http.post(target, data={})).status_code == 403

        after = await schedules.get_schedule(runtime.uow(read_only=True), created.id)
        assert not after.is_paused
        fires = await schedules.list_fires(runtime.uow(read_only=True), created.id)
        assert fires.items == []

    async def test_an_action_on_an_unknown_schedule_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)

        missing = await browser.post("/ui/schedules/sched_nope/pause")

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")

    async def test_a_schedule_a_pipeline_declares_offers_no_delete_and_refuses_one(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        yaml = pipeline_yaml("nightly", on={"schedule": [{"cron": "0 4 * * *"}]})
        await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(yaml), admin)
        [declared] = await schedules.list_schedules(runtime.uow(read_only=True))
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get(f"/ui/schedules/{declared.id}")
        assert f"/ui/schedules/{declared.id}/delete" not in page.text
        assert "Declared in a pipeline" in page.text

        refused = await browser.post(f"/ui/schedules/{declared.id}/delete")
        assert refused.status_code == 409
        assert "on: schedule:" in refused.text
        assert await stored_names(runtime) == [declared.name]
