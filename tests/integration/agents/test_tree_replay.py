"""A recorded tree of agents replays offline to the same end, and a changed stream diverges.

A root ``pr-shepherd`` spawns a child ``pr-shepherd`` that spawns a ``story-developer``
grandchild; each commits on its own branch. The tree is recorded with ``--record``
against the fake Anthropic API (the real SDK, the real job runner), then replayed from
``replay:FILE`` with the fake server stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrate.agents import service
from orchestrate.agents.execution import run_agent_here
from orchestrate.agents.models import AgentRun, AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.llm.models import CompletionResponse
from orchestrate.testing import FakeAnthropic, finish, tool_call
from tests.integration.agents.conftest import git

ROOT_TASK = "Ship the calculator fix."
CHILD_TASK = "Fix add() in calc.py."
GRANDCHILD_TASK = "Write NOTES.md about add()."
SPAWN_CHILD = "toolu_spawn_child"
SPAWN_GRANDCHILD = "toolu_spawn_grandchild"


def scripts() -> dict[str, list[CompletionResponse]]:
    """Each agent's model replies, keyed by the task it is given."""
    return {
        ROOT_TASK: [
            tool_call("spawn_agent", {"type": "pr-shepherd", "task": CHILD_TASK}, id=SPAWN_CHILD),
            finish("completed", "The fix is shipped."),
        ],
        CHILD_TASK: [
            tool_call(
                "spawn_agent",
                {"type": "story-developer", "task": GRANDCHILD_TASK},
                id=SPAWN_GRANDCHILD,
            ),
            tool_call("read_file", {"path": "calc.py"}),
            tool_call(
                "edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"}
            ),
            tool_call("bash", {"command": "python -m pytest -q -p no:cacheprovider test_calc.py"}),
            tool_call("git", {"action": "add", "paths": ["calc.py"]}),
            tool_call("git", {"action": "commit", "message": "Fix add"}),
            finish("completed", "add() adds; the grandchild wrote notes."),
        ],
        GRANDCHILD_TASK: [
            tool_call("write_file", {"path": "NOTES.md", "content": "add() adds.\n"}),
            tool_call("git", {"action": "add", "paths": ["NOTES.md"]}),
            tool_call("git", {"action": "commit", "message": "Add notes"}),
            finish("completed", "Notes written."),
        ],
    }


def by_task(
    script: dict[str, list[CompletionResponse]],
) -> Callable[[dict[str, Any]], CompletionResponse]:
    """A fake-server step answering each agent from its own script, whatever the order."""

    def answer(body: dict[str, Any]) -> CompletionResponse:
        first = body["messages"][0]["content"]
        text = first if isinstance(first, str) else " ".join(b.get("text", "") for b in first)
        (task,) = [task for task in script if task in text]
        return script[task].pop(0)

    return answer


@pytest.fixture
def fake_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(when_exhausted=by_task(scripts())) as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key or "")
        yield api


@dataclass(frozen=True)
class Outcome:
    """What a user notices of a finished tree, by task: state, summary, files, commits."""

    runs: dict[str, AgentRun]

    def view(self, repo: Path) -> dict[str, tuple[str, str | None, list[str], dict[str, str]]]:
        return {task: self._of(repo, run) for task, run in self.runs.items()}

    @staticmethod
    def _of(repo: Path, run: AgentRun) -> tuple[str, str | None, list[str], dict[str, str]]:
        assert run.branch
        assert run.base_commit
        subjects = git(repo, "log", "--format=%s", f"{run.base_commit}..{run.branch}").split()
        files = {
            name: git(repo, "show", f"{run.branch}:{name}")
            for name in git(repo, "ls-tree", "--name-only", run.branch).split()
        }
        return run.state.value, run.summary, subjects, files


async def run_tree(runtime: Runtime, repo: Path, **start: Any) -> Outcome:
    """Start the root on the real job runner and collect every agent of its tree."""
    request = service.StartAgent(
        type="pr-shepherd", task=ROOT_TASK, repo=repo, model="claude-sonnet-4-6", **start
    )
    root = await service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())
    await run_agent_here(runtime, root.id)
    page = await service.list_agents(runtime.uow(read_only=True), limit=200)
    tree = {root.id}
    for run in reversed(page.items):  # oldest first: a parent before its children
        if run.parent_id in tree:
            tree.add(run.id)
    runs = {run.task: run for run in page.items if run.id in tree}
    assert set(runs) == {ROOT_TASK, CHILD_TASK, GRANDCHILD_TASK}
    return Outcome(runs)


async def record(runtime: Runtime, repo: Path, session: Path, api: FakeAnthropic) -> Outcome:
    recorded = await run_tree(runtime, repo, provider="anthropic", record=session)
    api.stop()  # the replay must not need the model
    return recorded


def streams(session: Path) -> dict[str, Path]:
    child = session.with_name(f"session.{SPAWN_CHILD}.jsonl")
    return {
        ROOT_TASK: session,
        CHILD_TASK: child,
        GRANDCHILD_TASK: session.with_name(f"session.{SPAWN_CHILD}.{SPAWN_GRANDCHILD}.jsonl"),
    }


def rewrite_call(path: Path, number: int, old: str, new: str) -> None:
    """Change the recorded response of call ``number`` of a session file."""
    lines = path.read_text().splitlines()
    call = json.loads(lines[number])
    text = json.dumps(call["response"])
    assert old in text
    call["response"] = json.loads(text.replace(old, new))
    lines[number] = json.dumps(call)
    path.write_text("\n".join(lines) + "\n")


class TestARecordedTree:
    async def test_every_agent_records_its_own_stream_next_to_the_roots(
        self, runtime: Runtime, repo: Path, tmp_path: Path, fake_anthropic: FakeAnthropic
    ) -> None:
        session = tmp_path / "session.jsonl"

        recorded = await record(runtime, repo, session, fake_anthropic)

        for task, path in streams(session).items():
            header, *calls = [json.loads(line) for line in path.read_text().splitlines()]
            assert header["identity"]["agent_id"] == recorded.runs[task].id
            assert len(calls) == recorded.runs[task].turns
            assert task in calls[0]["request"]["messages"][0]["content"][0]["text"]

    async def test_replays_offline_to_the_same_summaries_files_and_commits(
        self, runtime: Runtime, repo: Path, tmp_path: Path, fake_anthropic: FakeAnthropic
    ) -> None:
        session = tmp_path / "session.jsonl"
        recorded = await record(runtime, repo, session, fake_anthropic)

        replayed = await run_tree(runtime, repo, provider=f"replay:{session}")

        root = replayed.runs[ROOT_TASK]
        reasons = [run.failure_reason for run in replayed.runs.values()]
        assert root.state is AgentState.COMPLETED, reasons
        assert replayed.view(repo) == recorded.view(repo)
        assert {run.id for run in replayed.runs.values()}.isdisjoint(
            run.id for run in recorded.runs.values()
        )


class TestADivergingTree:
    async def test_a_changed_grandchild_response_is_reported_where_it_shows(
        self, runtime: Runtime, repo: Path, tmp_path: Path, fake_anthropic: FakeAnthropic
    ) -> None:
        session = tmp_path / "session.jsonl"
        await record(runtime, repo, session, fake_anthropic)
        rewrite_call(streams(session)[GRANDCHILD_TASK], 4, "Notes written.", "Notes skipped.")

        replayed = await run_tree(runtime, repo, provider=f"replay:{session}")

        child = replayed.runs[CHILD_TASK]
        assert replayed.runs[GRANDCHILD_TASK].summary == "Notes skipped."
        assert child.state is AgentState.FAILED
        reason = child.failure_reason or ""
        assert f"diverged at call 2 of agent {child.id}" in reason
        assert f"{SPAWN_GRANDCHILD} (spawn_agent) differs" in reason
        assert "Notes written." in reason
        assert "Notes skipped." in reason
        root = replayed.runs[ROOT_TASK]
        assert root.state is AgentState.FAILED
        assert f"diverged at call 2 of agent {root.id}" in (root.failure_reason or "")

    async def test_a_changed_tool_result_in_a_child_is_a_divergence_naming_the_tool(
        self, runtime: Runtime, repo: Path, tmp_path: Path, fake_anthropic: FakeAnthropic
    ) -> None:
        session = tmp_path / "session.jsonl"
        await record(runtime, repo, session, fake_anthropic)
        (repo / "calc.py").write_text("def add(a, b):\n    return a - b  # changed\n")
        git(repo, "-c", "user.name=Dev", "-c", "user.email=d@example.com", "commit", "-qam", "c")

        replayed = await run_tree(runtime, repo, provider=f"replay:{session}")

        child = replayed.runs[CHILD_TASK]
        assert child.state is AgentState.FAILED
        reason = child.failure_reason or ""
        assert f"diverged at call 3 of agent {child.id}" in reason
        assert "(read_file) differs" in reason
        assert "# changed" in reason
