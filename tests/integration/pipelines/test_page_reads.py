"""Reads the dashboard's pipeline pages make through the service: the newest run of each
pipeline, a run with its definition, who may decide an approval, an offline check,
inputs in the file's order, and following step logs by byte offset."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from tests.integration.pipelines.conftest import approval, pipeline_yaml, shell, work

pytestmark = pytest.mark.asyncio

RELEASER = Actor(name="token:releaser", role=Role.OPERATOR, source="test")
GATED = pipeline_yaml(
    "gated",
    [
        shell("first", "echo one"),
        approval("release", "releaser", needs="first"),
        shell("last", 'echo three\nprintf "no newline at the end"', needs="release"),
    ],
)


async def register(runtime: Runtime, text: str) -> service.Pipeline:
    return await service.register_pipeline(runtime.uow(), service.PipelineSource(text), RELEASER)


async def start(runtime: Runtime, name: str) -> service.PipelineRun:
    request = service.TriggerRequest(name)
    run = await service.trigger_pipeline(runtime.uow(), runtime.settings, request, RELEASER)
    await work(runtime)
    return await service.get_run(runtime.uow(read_only=True), run.id)


async def next_update(updates: AsyncIterator[service.LogUpdate]) -> service.LogUpdate:
    return await asyncio.wait_for(anext(updates), 30)


def log_of(run: service.PipelineRun, key: str) -> bytes:
    return Path(str(run.step(key).log_path)).read_bytes()


async def test_the_newest_run_of_each_pipeline_is_found_in_one_read(runtime: Runtime) -> None:
    for name in ("a", "b", "never"):
        await register(runtime, pipeline_yaml(name))
    await start(runtime, "a")
    newest_a = await start(runtime, "a")
    newest_b = await start(runtime, "b")

    latest = await service.latest_runs(runtime.uow(read_only=True), ["a", "b", "never", "gone"])

    assert {name: run.id for name, run in latest.items()} == {"a": newest_a.id, "b": newest_b.id}
    assert latest["a"].number == 2
    assert await service.latest_runs(runtime.uow(read_only=True), []) == {}


async def test_a_run_comes_with_the_definition_it_runs_even_after_an_edit(
    runtime: Runtime,
) -> None:
    await register(runtime, GATED)
    run = await start(runtime, "gated")
    await register(runtime, pipeline_yaml("gated", [shell("other", "echo other")]))

    detail = await service.get_run_detail(runtime.uow(read_only=True), run.id)

    assert detail.run.id == run.id
    assert detail.spec.step_ids == ["first", "release", "last"]
    assert [step.key for step in detail.run.steps] == ["first", "release", "last"]


async def test_only_a_named_approver_who_has_not_decided_may_decide(runtime: Runtime) -> None:
    await register(runtime, GATED)
    run = await start(runtime, "gated")
    detail = await service.get_run_detail(runtime.uow(read_only=True), run.id)
    release, first = detail.run.step("release"), detail.run.step("first")
    someone = Actor(name="token:someone", role=Role.ADMIN, source="test")

    assert service.may_decide(detail.spec, release, RELEASER)
    assert not service.may_decide(detail.spec, release, someone)
    assert not service.may_decide(detail.spec, first, RELEASER)

    decided = await service.decide_approval(runtime.uow(), run.id, "release", RELEASER, "approve")
    assert not service.may_decide(detail.spec, decided.step("release"), RELEASER)


async def test_an_offline_check_gives_problems_or_notes_and_the_name() -> None:
    valid = await service.check_pipeline_source(GATED)
    noted = await service.check_pipeline_source(
        pipeline_yaml("noted", [shell("a", "echo '${{ inputs.x }}'")], inputs={"x": {}})
    )
    broken = await service.check_pipeline_source("name: x\nsteps:\n  - id: a\n    runn: echo\n")

    assert (valid.is_valid, valid.name, valid.problems, valid.notes) == (True, "gated", [], [])
    assert noted.is_valid
    assert noted.notes
    assert not broken.is_valid
    assert broken.name is None
    assert next((p.line, p.column) for p in broken.problems) == (4, 5)


async def test_inputs_come_in_the_order_the_file_declares_them(runtime: Runtime) -> None:
    text = pipeline_yaml(
        "ordered",
        inputs={"zeta": {}, "alpha": {"type": "number"}, "mid": {"type": "boolean"}},
    )
    pipeline = await register(runtime, text)

    spec = await service.pipeline_spec(pipeline)

    assert list(spec.inputs) == ["zeta", "alpha", "mid"]


class TestFollowingLogs:
    async def test_a_finished_run_gives_what_follows_each_offset_once(
        self, runtime: Runtime
    ) -> None:
        await register(runtime, pipeline_yaml("two", [shell("a", "echo one\necho two")]))
        run = await start(runtime, "two")
        text = log_of(run, "a")
        held = text.index(b"two")

        updates = [
            update
            async for update in service.follow_step_logs(runtime, run.id, {"a": held}, after_id=0)
        ]

        assert len(updates) == 1
        (piece,) = updates[0].pieces
        assert (piece.step, piece.text, piece.start, piece.end) == ("a", "two\n", held, len(text))

    async def test_a_live_run_streams_each_line_once_until_it_ends(self, runtime: Runtime) -> None:
        await register(runtime, GATED)
        run = await start(runtime, "gated")
        updates = service.follow_step_logs(runtime, run.id, {}, after_id=0)
        caught_up = await next_update(updates)
        assert [piece.step for piece in caught_up.pieces] == ["first"]

        rest = asyncio.create_task(_collect(updates))
        await service.decide_approval(runtime.uow(), run.id, "release", RELEASER, "approve")
        await work(runtime)
        later = await asyncio.wait_for(rest, 30)

        done = await service.get_run(runtime.uow(read_only=True), run.id)
        streamed: dict[str, str] = {}
        for update in [caught_up, *later]:
            for piece in update.pieces:
                streamed[piece.step] = streamed.get(piece.step, "") + piece.text
        assert streamed == {
            "first": log_of(done, "first").decode(),
            "last": log_of(done, "last").decode(),
        }
        assert streamed["last"].endswith("three\nno newline at the end")
        assert later[-1].changed
        assert any(update.changed for update in later[:-1])

    async def test_a_log_written_on_another_machine_comes_from_the_events(
        self, runtime: Runtime
    ) -> None:
        await register(runtime, GATED)
        run = await start(runtime, "gated")
        Path(str(run.step("first").log_path)).unlink()  # as if another worker had it
        updates = service.follow_step_logs(runtime, run.id, {}, after_id=0)
        try:
            caught_up = await next_update(updates)
            history = await next_update(updates)
        finally:
            await updates.aclose()  # type: ignore[attr-defined]

        assert caught_up.pieces == []
        (piece,) = history.pieces
        assert (piece.step, piece.text, piece.start, piece.end) == ("first", "one\n", None, None)


async def _collect(updates: AsyncIterator[service.LogUpdate]) -> list[service.LogUpdate]:
    return [update async for update in updates]
