"""The dashboard's live stream: every event's id, type and subject, and no more, for as
long as the session lasts."""

from __future__ import annotations

import json

import pytest

from orchestrate.core.events import record_event
from orchestrate.core.jobs.events import JobCancelled
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pages import live

pytestmark = pytest.mark.asyncio


async def _commit_event(runtime: Runtime, subject: str) -> None:
    async with runtime.uow() as uow:
        record_event(uow, JobCancelled(subject=subject, kind="test.work"))
        await uow.commit()


async def test_frames_carry_the_type_and_subject_but_never_the_payload(runtime: Runtime) -> None:
    async def signed_in() -> bool:
        return True

    frames = live._frames(runtime, 0, signed_in)
    assert await anext(frames) == "retry: 1000\n\n"
    await _commit_event(runtime, "job_1")

    frame = await anext(frames)
    await frames.aclose()

    lines = frame.strip().split("\n")
    assert lines[0].startswith("id: ")
    data = json.loads(lines[1].removeprefix("data: "))
    assert set(data) == {"id", "type", "subject"}
    assert data["subject"] == "job_1"
    assert data["type"].startswith("job.")


async def test_the_stream_ends_once_the_session_has_ended(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "SESSION_CHECK_SECONDS", 0.0)
    sessions = [True]

    async def signed_in() -> bool:
        return sessions[-1]

    frames = live._frames(runtime, 0, signed_in)
    await anext(frames)
    await _commit_event(runtime, "job_1")
    assert "job_1" in await anext(frames)

    sessions.append(False)  # signed out, expired or revoked meanwhile
    await _commit_event(runtime, "job_2")
    with pytest.raises(StopAsyncIteration):
        await anext(frames)
