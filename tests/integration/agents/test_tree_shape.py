"""A tree's shape is bounded: ``max_sub_agents`` children per agent, ``max_agent_depth`` levels.

The model decides how many sub-agents it starts; a looping or prompt-injected agent must
not be able to fan out without end. A refused spawn creates nothing, and a repeated call
(a retried turn) still returns the child it made the first time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents import service
from orchestrate.agents.models import AgentRun
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.testing.scripted import ScriptedProvider
from tests.integration.agents.conftest import AgentRunner


async def spawn(runtime: Runtime, parent: AgentRun, call_id: str) -> AgentRun:
    return await service.create_sub_agent(
        runtime.uow(), runtime.settings, parent, "story-developer", f"Task {call_id}", None, call_id
    )


async def test_a_parent_past_max_sub_agents_is_refused_and_nothing_is_created(
    runtime: Runtime, repo: Path
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"max_sub_agents": 2})
    parent = await AgentRunner(runtime, ScriptedProvider([])).start(
        agent_type="bmad-orchestrator", repo=repo
    )
    first = await spawn(runtime, parent, "call-1")
    await spawn(runtime, parent, "call-2")

    with pytest.raises(ValidationFailed, match=r"started 2 sub-agents.*max_sub_agents"):
        await spawn(runtime, parent, "call-3")

    assert (await spawn(runtime, parent, "call-1")).id == first.id  # a retried call
    shown = await service.get_agent(runtime.uow(read_only=True), parent.id)
    assert len(shown.children) == 2


async def test_a_child_deeper_than_max_agent_depth_is_refused(runtime: Runtime, repo: Path) -> None:
    runtime.settings = runtime.settings.model_copy(update={"max_agent_depth": 1})
    parent = await AgentRunner(runtime, ScriptedProvider([])).start(
        agent_type="bmad-orchestrator", repo=repo
    )
    child = await spawn(runtime, parent, "call-1")

    with pytest.raises(ValidationFailed, match=r"nest 1 levels deep.*max_agent_depth"):
        await spawn(runtime, child, "call-2")
