"""Recorded and replayed sessions of a whole agent tree: which file each agent uses.

An agent started with ``--record FILE`` records its own model calls to ``FILE``; each
sub-agent it spawns records to its own file next to it, named after the
``spawn_agent`` call that started it (``child_stream_path``): ``FILE`` =
``session.jsonl`` gives ``session.<call id>.jsonl``, and that child's children
``session.<call id>.<call id>.jsonl``. The call's id comes from the model's recorded
reply, so a replay of the root (``--provider replay:FILE``) derives the very same names
and gives every agent of the tree its own stream, however the tree is scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrate.agents.models import AgentRun
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.llm.service import Provider, RunIdentity, child_stream_path, create_provider

REPLAY_PREFIX = "replay:"


@dataclass(frozen=True)
class ChildSession:
    """The provider name and record file of a sub-agent, derived from its parent's."""

    provider: str
    record_path: Path | None


def child_session(parent: AgentRun, call_id: str | None) -> ChildSession:
    """Where the sub-agent started by ``parent``'s ``spawn_agent`` call ``call_id`` records
    and replays. A parent that neither records nor replays passes its provider on; one
    that does needs the call's id, the only name its child's stream can have."""
    if call_id is None:
        if is_session(parent):
            raise ConfigurationError(
                f"Agent {parent.id} records or replays a session, so a sub-agent it starts "
                "needs the id of the spawn_agent call that starts it (call_id).",
                agent_id=parent.id,
            )
        return ChildSession(provider=parent.provider, record_path=None)
    record = child_stream_path(Path(parent.record_path), call_id) if parent.record_path else None
    provider = parent.provider
    if provider.startswith(REPLAY_PREFIX) and len(provider) > len(REPLAY_PREFIX):
        stream = child_stream_path(Path(provider.removeprefix(REPLAY_PREFIX)), call_id)
        provider = f"{REPLAY_PREFIX}{stream}"
    return ChildSession(provider=provider, record_path=record)


def run_identity(run: AgentRun) -> RunIdentity:
    """What differs between a recorded run and its replay, masked before comparing."""
    return RunIdentity(
        agent_id=run.id,
        workspace=run.workspace_path,
        repo=run.repo_path,
        branch=run.branch,
        base_ref=run.base_ref,
    )


def is_session(run: AgentRun) -> bool:
    """True when the run records or replays, so its provider is its own (not shared)."""
    return bool(run.record_path) or run.provider.startswith(REPLAY_PREFIX.rstrip(":"))


def session_provider(run: AgentRun, settings: Settings) -> Provider:
    """The provider of a run that records or replays, naming the run in the session."""
    return create_provider(
        run.provider,
        settings,
        record=Path(run.record_path) if run.record_path else None,
        identity=run_identity(run),
        # A sub-agent that never called its model while recording left no stream.
        allow_missing_replay=run.parent_id is not None,
    )
