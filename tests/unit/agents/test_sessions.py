"""Which session file each agent of a recorded or replayed tree uses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents.models import AgentRun, AgentState, Limits, TreeTotals
from orchestrate.agents.sessions import child_session
from orchestrate.core.errors import ConfigurationError

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def make_run(*, provider: str = "anthropic", record_path: str | None = None) -> AgentRun:
    return AgentRun(
        id="agent_01jabcdefghjkmnpqrstvwxyz0",
        type="pr-shepherd",
        state=AgentState.RUNNING,
        task="Ship it",
        story_id=None,
        parent_id=None,
        provider=provider,
        model="claude-sonnet-4-6",
        repo_path=None,
        workspace_path=None,
        branch=None,
        base_ref=None,
        base_commit=None,
        limits=Limits(),
        record_path=record_path,
        control=None,
        turns=0,
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=Decimal(0),
        active_seconds=0.0,
        tree=TreeTotals(),
        finish_status=None,
        summary=None,
        failure_reason=None,
        created_at=NOW,
        updated_at=NOW,
        started_at=None,
        finished_at=None,
    )


class TestChildSession:
    def test_a_recording_parents_child_records_next_to_it_on_the_same_live_provider(
        self,
    ) -> None:
        parent = make_run(record_path="/s/session.jsonl")

        child = child_session(parent, "toolu_01")

        assert child.provider == "anthropic"
        assert child.record_path == Path("/s/session.toolu_01.jsonl")

    def test_a_replaying_parents_child_replays_its_own_stream(self) -> None:
        parent = make_run(provider="replay:/s/session.toolu_01.jsonl")

        child = child_session(parent, "toolu_02")

        assert child.provider == "replay:/s/session.toolu_01.toolu_02.jsonl"
        assert child.record_path is None

    def test_a_plain_parents_child_gets_its_provider_and_records_nothing(self) -> None:
        child = child_session(make_run(provider="openai"), None)

        assert (child.provider, child.record_path) == ("openai", None)

    def test_without_the_call_id_a_recorded_parents_child_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="needs the id of the spawn_agent call"):
            child_session(make_run(record_path="/s/session.jsonl"), None)
