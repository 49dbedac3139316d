"""Every stored or streamed text hides the store's values: events, logs, agent transcripts."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select, text

from orchestrate.agents.tables import AgentToolCallRow
from orchestrate.auth.models import Actor
from orchestrate.core.events import EventFilter, read_events, record_event
from orchestrate.core.logging import configure_logging
from orchestrate.core.masking import MASK, process_masker
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import LogFormat
from orchestrate.secrets import service as secrets
from orchestrate.secrets.loaded import forget_loaded
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.event_types import Logged
from tests.integration.agents.conftest import AgentRunner, git, repo

__all__ = ["repo"]

VALUE = "sk-live-4f9a8b7c6d5e"


async def store_value(runtime: Runtime, name: str = "API_TOKEN", value: str = VALUE) -> None:
    await secrets.set_secret(runtime.uow(), runtime.settings, name, value, Actor.local_cli())


class TestEvents:
    async def test_an_event_payload_is_stored_and_streamed_with_the_value_masked(
        self, runtime: Runtime
    ) -> None:
        await store_value(runtime)
        async with runtime.uow() as uow:
            logged = Logged(
                subject="run_1", line=f"token={VALUE}", nested=[{"argv": ["curl", VALUE]}], n=3
            )
            record_event(uow, logged)
            await uow.commit()

        only = EventFilter(types=("test.*",))
        async with runtime.uow(read_only=True) as uow:
            [stored] = await read_events(uow.session, only=only)
            raw = (await uow.session.execute(text("SELECT payload FROM events"))).all()
        streamed = await anext(aiter(runtime.events.follow(0, only)))
        expected = {"line": f"token={MASK}", "nested": [{"argv": ["curl", MASK]}], "n": 3}
        assert stored.payload == expected
        assert [event.payload for event in streamed] == [expected]
        assert VALUE not in str(raw)

    async def test_a_secret_set_behind_the_process_s_back_is_masked_after_a_refresh(
        self, runtime: Runtime
    ) -> None:
        await store_value(runtime)
        forget_loaded()  # as in a worker that started before another process set it
        assert process_masker().mask(VALUE) == VALUE

        await secrets.refresh_masker(runtime.uow(read_only=True), runtime.settings)

        assert process_masker().mask(f"x {VALUE} y") == f"x {MASK} y"
        assert secrets.cached_secret_value("api_token") == VALUE

    async def test_a_deleted_secret_is_no_longer_masked(self, runtime: Runtime) -> None:
        await store_value(runtime)
        await secrets.delete_secret(runtime.uow(), runtime.settings, "API_TOKEN", Actor.local_cli())
        assert process_masker().mask(VALUE) == VALUE


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the process logs, as JSON lines, with logging configured as ``serve`` does."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("info", LogFormat.JSON)
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


async def test_a_log_line_never_shows_a_secret_value(
    runtime: Runtime, json_log: io.StringIO
) -> None:
    await store_value(runtime)
    log = structlog.get_logger("test")

    log.info("step_output", line=f"echo {VALUE}", argv=["--key", VALUE])
    logging.getLogger("stdlib").warning("plain logging %s", VALUE)
    try:
        raise RuntimeError(f"failed with {VALUE}")
    except RuntimeError:
        log.exception("step_crashed")

    output = json_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 3
    assert VALUE not in output
    assert lines[0]["line"] == f"echo {MASK}"
    assert MASK in lines[2]["exception"]


async def test_an_agent_tool_result_and_summary_are_stored_masked(
    runtime: Runtime, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    (repo / "settings.ini").write_text(f"[deploy]\ntoken = {VALUE}\n")
    git(repo, "add", "settings.ini")
    git(repo, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "ini")
    await store_value(runtime)
    provider = ScriptedProvider(
        [
            tool_call("read_file", {"path": "settings.ini"}),
            tool_call("bash", {"command": f"echo {VALUE}"}),
            finish("completed", f"The token is {VALUE}."),
        ]
    )
    agent = AgentRunner(runtime, provider)
    await agent.start(repo=repo)

    run = await agent.drive()

    assert run.summary == f"The token is {MASK}."
    async with runtime.uow(read_only=True) as uow:
        calls = list(await uow.session.scalars(select(AgentToolCallRow)))
        messages = (await uow.session.execute(text("SELECT content FROM agent_messages"))).all()
        events = (await uow.session.execute(text("SELECT payload FROM events"))).all()
    outputs = {call.name: call.output or "" for call in calls}
    assert f"token = {MASK}" in outputs["read_file"]
    assert calls[1].input == {"command": f"echo {MASK}"}
    assert VALUE not in "".join(outputs.values())
    assert VALUE not in str(messages) + str(events)
    assert MASK in str(messages)
    # The model itself was sent the real file: masking is for what is stored and shown.
    assert any(VALUE in str(request.messages) for request in provider.requests)
