"""The escape suite through the agent ``bash`` tool, and the ordinary work that must still run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.git import Git
from orchestrate.agents.tools.shell import Bash
from orchestrate.core.sandbox import SandboxPolicy
from tests.integration.core.sandbox.conftest import Places, git
from tests.integration.core.sandbox.escapes import CONTAINED, ESCAPES, Escape
from tests.support import sleeping_processes
from tests.unit.agents.tools.support import call


def context_for(
    workspace: Path, policy: SandboxPolicy, env: dict[str, str] | None = None
) -> ToolContext:
    return ToolContext(
        agent_id="agent_escape", workspace=workspace, env=env or {}, sandbox=policy, bash_timeout=60
    )


@pytest.mark.parametrize("escape", ESCAPES, ids=lambda escape: escape.name)
async def test_each_escape_attempt_from_agent_bash_is_contained(
    escape: Escape, places: Places, agent_workspace: Path, policy: SandboxPolicy
) -> None:
    config_before = (places.common / "config").read_text()
    context = context_for(agent_workspace, policy)

    result = await call(Bash(), context, command=escape.render(**places.values()))

    assert result.content.endswith(f"[exit code {CONTAINED}]"), result.content
    assert "ESCAPED" not in result.content
    assert not (places.outside / "planted").exists()
    assert not (places.common / "hooks" / "pre-commit").exists()
    assert (places.common / "config").read_text() == config_before
    assert git(places.checkout, "rev-parse", "main").strip() != "0" * 40
    git(places.checkout, "cat-file", "-e", "main^{tree}")  # the objects are all still there


async def test_home_and_tmp_do_not_outlive_a_command(
    agent_workspace: Path, policy: SandboxPolicy
) -> None:
    context = context_for(agent_workspace, policy)
    await call(Bash(), context, command="echo x > $HOME/.profile-plant; echo y > /tmp/plant")

    result = await call(
        Bash(), context, command="ls -A $HOME /tmp; test -e $HOME/.profile-plant || echo gone"
    )

    assert "gone" in result.content
    assert "plant" not in result.content.replace(".profile-plant || echo gone", "")
    assert not Path("/tmp/plant").exists()


async def test_two_agents_do_not_share_tmp(
    agent_workspace: Path, tmp_path: Path, policy: SandboxPolicy
) -> None:
    other = tmp_path / "other-agent"
    other.mkdir()
    writer = context_for(agent_workspace, policy)
    reader = context_for(other, policy)

    # The writer keeps its sandbox (and its /tmp) alive until the reader has looked.
    write_and_hold = (
        "echo mine > /tmp/shared-note && touch written; "
        "for _ in $(seq 1200); do [ -e release ] && exit 0; sleep 0.05; done; exit 1"
    )
    holding = asyncio.create_task(call(Bash(), writer, command=write_and_hold))
    written = agent_workspace / "written"
    for _ in range(1200):  # 60 s, a guard against a hang
        if written.exists() or holding.done():
            break
        await asyncio.sleep(0.05)
    assert written.exists(), "the writer never wrote its note"
    seen = await call(Bash(), reader, command="cat /tmp/shared-note || echo absent")
    (agent_workspace / "release").touch()
    held = await asyncio.wait_for(holding, 60)

    assert held.content.endswith("[exit code 0]"), held.content
    assert "absent" in seen.content


async def test_a_fork_bomb_is_stopped_by_the_process_limit(
    agent_workspace: Path, policy: SandboxPolicy
) -> None:
    context = context_for(agent_workspace, policy)
    # A sleep duration of its own: "sleep 1" is common enough that another test running
    # beside this one under xdist could have one alive.
    bomb = "bomb() { bomb | bomb & }; bomb; sleep 1.0501; echo survived"

    # The guard only turns a hang into a failure; the tool's own timeout ends the bomb.
    result = await asyncio.wait_for(call(Bash(), context, command=bomb, timeout_seconds=20), 60)

    assert "fork: retry" in result.content or "Resource temporarily unavailable" in result.content
    assert not sleeping_processes("1.0501")


async def test_a_huge_file_is_stopped_by_the_file_size_limit(
    agent_workspace: Path, policy: SandboxPolicy
) -> None:
    context = context_for(agent_workspace, policy)

    result = await call(Bash(), context, command="head -c 64M /dev/zero > big.bin")

    assert "[exit code 0]" not in result.content
    assert (agent_workspace / "big.bin").stat().st_size <= policy.max_file_bytes


class TestOrdinaryWork:
    async def test_running_the_tests_works(
        self, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        context = context_for(agent_workspace, policy)
        result = await call(Bash(), context, command="python3 -m unittest -q test_ok 2>&1")
        assert result.content.endswith("[exit code 0]"), result.content
        assert "OK" in result.content

    async def test_the_git_tool_commits_on_the_agents_branch_without_hooks(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        hook = places.common / "hooks" / "pre-commit"
        hook.write_text("#!/bin/sh\ntouch hook-ran\nexit 1\n")
        hook.chmod(0o755)
        context = context_for(agent_workspace, policy)
        (agent_workspace / "feature.txt").write_text("new\n")

        await call(Git(), context, action="add", paths=["feature.txt"])
        result = await call(Git(), context, action="commit", message="Add the feature")

        assert not result.is_error, result.content
        branch = git(agent_workspace, "rev-parse", "--abbrev-ref", "HEAD").strip()
        assert git(places.checkout, "log", "-1", "--format=%s", branch).strip() == "Add the feature"
        assert not (agent_workspace / "hook-ran").exists()
        assert git(places.checkout, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"

    async def test_git_from_bash_commits_on_the_agents_branch(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        context = context_for(
            agent_workspace,
            policy,
            env={
                "GIT_AUTHOR_NAME": "A",
                "GIT_AUTHOR_EMAIL": "a@b",
                "GIT_COMMITTER_NAME": "A",
                "GIT_COMMITTER_EMAIL": "a@b",
            },
        )
        command = (
            "echo more >> README.md && git commit -qam 'Edit from bash' && git log -1 --format=%s"
        )
        result = await call(Bash(), context, command=command)
        assert "Edit from bash" in result.content, result.content
        assert result.content.endswith("[exit code 0]")


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "1"]])
def test_without_bubblewrap_the_server_stops_with_one_line_saying_what_to_install(
    command: list[str], tmp_path: Path
) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate", *command],
        env={"PATH": str(no_tools), "ORCHESTRATE_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "install it" in result.stderr
    assert "ORCHESTRATE_SANDBOX=none" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "orchestrate.db").exists()


class TestGitMetadataCannotWidenTheSandbox:
    """What one command writes must never choose what the next one may mount."""

    async def test_the_worktrees_git_file_cannot_be_rewritten(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        context = context_for(agent_workspace, policy)
        rewrite = await call(Bash(), context, command=f"echo 'gitdir: {places.outside}' > .git")
        attempt = await call(Bash(), context, command=f"touch {places.outside}/planted")

        assert not rewrite.content.endswith("[exit code 0]")
        assert not attempt.content.endswith("[exit code 0]")
        assert not (places.outside / "planted").exists()

    async def test_a_planted_git_file_in_a_scratch_workspace_binds_nothing(
        self, places: Places, tmp_path: Path, policy: SandboxPolicy
    ) -> None:
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        context = context_for(scratch, policy)
        await call(Bash(), context, command=f"echo 'gitdir: {places.outside}' > .git")
        attempt = await call(Bash(), context, command=f"touch {places.outside}/planted")

        assert not attempt.content.endswith("[exit code 0]")
        assert not (places.outside / "planted").exists()

    async def test_head_cannot_lead_the_branch_directory_through_a_symlink(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        context = context_for(agent_workspace, policy)
        admin = places.common / "worktrees" / agent_workspace.name
        plant = (
            f"ln -s {places.outside} {places.common}/refs/heads/orchestrate/out && "
            f"echo 'ref: refs/heads/orchestrate/out/x' > {admin}/HEAD"
        )
        await call(Bash(), context, command=plant)
        attempt = await call(Bash(), context, command=f"touch {places.outside}/planted")

        assert not attempt.content.endswith("[exit code 0]")
        assert not (places.outside / "planted").exists()


IDENTITY = {
    "GIT_AUTHOR_NAME": "A",
    "GIT_AUTHOR_EMAIL": "a@b",
    "GIT_COMMITTER_NAME": "A",
    "GIT_COMMITTER_EMAIL": "a@b",
}


class TestSharedGitState:
    """Objects and other branches belong to the repository: a command only adds to them."""

    async def test_other_branches_cannot_be_moved_by_any_route(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        git(places.checkout, "branch", "orchestrate/other-agent", "main")
        before = {
            name: git(places.checkout, "rev-parse", name).strip()
            for name in ("main", "orchestrate/other-agent")
        }
        admin = places.common / "worktrees" / agent_workspace.name
        context = context_for(agent_workspace, policy, env=IDENTITY)
        attempts = [
            "git commit -q --allow-empty -m mine",
            "git update-ref refs/heads/orchestrate/other-agent HEAD",
            "git branch -f orchestrate/other-agent HEAD",
            f"git rev-parse HEAD > {places.common}/refs/heads/orchestrate/other-agent",
            f"echo 'ref: refs/heads/orchestrate/other-agent' > {admin}/HEAD && "
            "git commit -q --allow-empty -m 'through HEAD'",
            f"echo 'ref: refs/heads/main' > {admin}/HEAD && git commit -q --allow-empty -m main",
        ]

        for attempt in attempts:
            await call(Bash(), context, command=attempt)

        after = {name: git(places.checkout, "rev-parse", name).strip() for name in before}
        assert after == before
        mine = git(places.checkout, "log", "-1", "--format=%s", "orchestrate/escape-suite")
        assert mine.strip() == "mine"

    async def test_an_object_planted_under_a_false_name_is_not_adopted(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        future = "the user's next file\n"
        name = subprocess.run(
            ["git", "hash-object", "--stdin"], input=future, capture_output=True, text=True
        ).stdout.strip()
        plant = (
            "python3 -c 'import os, sys, zlib; name = sys.argv[1]; "
            f'path = os.path.join("{places.common}/objects", name[:2]); '
            "os.makedirs(path, exist_ok=True); "
            'open(os.path.join(path, name[2:]), "wb").write(zlib.compress(b"blob 5\\0evil!"))'
            f"' {name} && git cat-file -p {name}"
        )

        planted = await call(Bash(), context_for(agent_workspace, policy), command=plant)

        assert "evil!" in planted.content  # the sandbox itself sees its own forgery
        absent = subprocess.run(
            ["git", "-C", str(places.checkout), "cat-file", "-e", name], check=False
        )
        assert absent.returncode != 0
        (places.checkout / "next.txt").write_text(future)
        git(places.checkout, "hash-object", "-w", "next.txt")
        assert git(places.checkout, "cat-file", "-p", name) == future

    async def test_objects_packed_in_the_sandbox_reach_the_repository(
        self, places: Places, agent_workspace: Path, policy: SandboxPolicy
    ) -> None:
        packs_before = set((places.common / "objects" / "pack").glob("*.pack"))
        context = context_for(agent_workspace, policy, env=IDENTITY)
        command = "echo packed >> README.md && git commit -qam 'Packed work' && git repack -q -d -l"

        result = await call(Bash(), context, command=command)

        assert result.content.endswith("[exit code 0]"), result.content
        assert set((places.common / "objects" / "pack").glob("*.pack")) > packs_before
        log = git(places.checkout, "log", "-1", "--format=%s", "orchestrate/escape-suite")
        assert log.strip() == "Packed work"
        git(places.checkout, "fsck", "--no-dangling")


@pytest.mark.parametrize("where", ["under /opt", "under a read-only path"])
def test_a_home_the_sandbox_would_show_stops_the_server(where: str, tmp_path: Path) -> None:
    home = Path(f"/opt/orchestrate-test-{tmp_path.name}") if where == "under /opt" else tmp_path
    env = {
        "PATH": "/usr/bin:/bin",
        "ORCHESTRATE_HOME": str(home / "home"),
        "ORCHESTRATE_SANDBOX_READ_ONLY_PATHS": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2, result.stderr
    assert f"Orchestrate's home {home / 'home'} lies inside" in result.stderr
    assert "every sandboxed command can read" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "home" / "orchestrate.db").exists()


def test_a_database_file_the_sandbox_would_show_stops_the_server(tmp_path: Path) -> None:
    database = f"/opt/orchestrate-test-{tmp_path.name}.db"
    env = {
        "PATH": "/usr/bin:/bin",
        "ORCHESTRATE_HOME": str(tmp_path / "home"),
        "ORCHESTRATE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "orchestrate", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2, result.stderr
    assert f"Orchestrate's database {database} lies inside /opt" in result.stderr
    assert not Path(database).exists()
