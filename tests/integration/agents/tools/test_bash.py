"""bash: real processes, exit codes, timeouts and cancellation killing whole groups."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.shell import Bash
from orchestrate.core.masking import MASK, process_masker
from tests.support import sleeping_processes
from tests.unit.agents.tools.support import call, make_context

# A background child whose pid is written down, then waited for: killing only the
# leader would leave this ``sleep`` running, which is what these tests look for. The
# sleeps outlast any test (an hour, a duration no other test uses), so a command that
# returns at all was ended by the tool; HANG_GUARD only turns a regression into a
# failure instead of a hang, it measures nothing.
HANG_GUARD = 60


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def context(workspace: Path) -> ToolContext:
    return make_context(workspace)


def sleeping_child(seconds: str) -> str:
    return f"sleep {seconds} & echo $! > child.pid; wait"


def is_gone(seconds: str) -> bool:
    return not sleeping_processes(seconds)


async def wait_until_sleeping(seconds: str) -> None:
    """Until the ``sleep`` is running: ``$!`` is written before the forked shell has
    exec'd it, so right after ``child.pid`` appears it may not be a ``sleep`` yet."""
    for _ in range(500):
        if not is_gone(seconds):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"sleep {seconds} never ran")


async def wait_for_file(path: Path) -> str:
    for _ in range(200):
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


class TestCompletedCommands:
    async def test_the_exit_code_ends_the_result(self, context: ToolContext) -> None:
        result = await call(Bash(), context, command="echo done; exit 3")
        assert result.content == "done\n[exit code 3]"
        assert not result.is_error

    async def test_stdout_and_stderr_are_interleaved_in_order(self, context: ToolContext) -> None:
        result = await call(Bash(), context, command="echo one; echo two >&2; echo three")
        assert result.content == "one\ntwo\nthree\n[exit code 0]"

    async def test_commands_run_in_the_workspace(
        self, workspace: Path, context: ToolContext
    ) -> None:
        result = await call(Bash(), context, command="pwd")
        assert result.content.splitlines()[0] == str(workspace.resolve())

    async def test_the_command_sees_only_the_given_environment(self, workspace: Path) -> None:
        context = make_context(workspace, env={"PATH": os.environ["PATH"], "GREETING": "hi"})
        result = await call(Bash(), context, command='echo "$GREETING $HOME"; env | sort')
        lines = result.content.splitlines()
        assert lines[0] == "hi /home/sandbox"
        names = {line.split("=", 1)[0] for line in lines[1:] if "=" in line}
        assert names <= {
            "PATH",
            "HOME",
            "LANG",
            "TERM",
            "TMPDIR",
            "USER",
            "LOGNAME",
            "GREETING",
            "PWD",
            "SHLVL",
            "_",
        }

    async def test_a_missing_program_reports_exit_code_127(self, context: ToolContext) -> None:
        result = await call(Bash(), context, command="no-such-program-xyz")
        assert "command not found" in result.content
        assert result.content.endswith("[exit code 127]")

    async def test_background_processes_are_stopped_when_the_command_returns(
        self, workspace: Path, context: ToolContext
    ) -> None:
        result = await asyncio.wait_for(
            call(Bash(), context, command="sleep 3600.101 & echo $!"), HANG_GUARD
        )
        assert result.content.endswith("[exit code 0]")
        assert is_gone("3600.101")

    async def test_long_output_keeps_its_head_and_tail(self, workspace: Path) -> None:
        context = make_context(workspace, output_limit=1_000)
        result = await call(Bash(), context, command="seq 1 200000")
        assert result.content.startswith("1\n2\n3\n")
        assert "characters omitted …]" in result.content
        assert result.content.endswith("199999\n200000\n[exit code 0]")
        assert len(result.content) < 1_100

    async def test_a_timeout_above_the_maximum_is_refused(self, workspace: Path) -> None:
        context = make_context(workspace, bash_timeout=10)
        result = await call(Bash(), context, command="true", timeout_seconds=11)
        assert result.is_error
        assert "at most 10" in result.content


SECRET = "sk-test-0a1b2c3d4e5f6g7h"
MULTI_BYTE_SECRET = "mot-de-passé-très-secret"


@pytest.fixture
def secrets() -> Iterator[None]:
    """The two values known to the process's masker, as the secret store would make them."""
    masker = process_masker()
    before = masker.values()
    masker.add_all([SECRET, MULTI_BYTE_SECRET])
    yield
    masker.replace_all(before)


def xs(count: int) -> str:
    return f"head -c {count} /dev/zero | tr '\\0' x"


def longest_fragment(text: str, secret: str) -> int:
    """The length of the longest piece of ``secret`` that shows in ``text``."""
    return max(
        (
            end - start
            for start in range(len(secret))
            for end in range(start + 1, len(secret) + 1)
            if secret[start:end] in text
        ),
        default=0,
    )


def assert_hidden(text: str, secret: str) -> None:
    assert MASK in text
    assert longest_fragment(text, secret) <= len(secret) // 2


@pytest.mark.usefixtures("secrets")
class TestMaskedOutput:
    async def test_a_secret_split_across_reads_is_masked(self, context: ToolContext) -> None:
        command = f"printf %s {SECRET[:15]}; sleep 0.3; printf '%s\\n' {SECRET[15:]}"
        result = await call(Bash(), context, command=command)
        assert result.content == f"{MASK}\n[exit code 0]"

    async def test_a_secret_across_the_end_of_the_kept_head_is_masked_not_cut(
        self, workspace: Path
    ) -> None:
        # 100 characters kept: the first 50 and the last 50. The secret starts at 35.
        context = make_context(workspace, output_limit=100)
        command = f"{xs(35)}; printf %s {SECRET}; {xs(1000)}"
        result = await call(Bash(), context, command=command)
        assert result.content.startswith("x" * 35 + MASK)
        assert_hidden(result.content, SECRET)

    async def test_a_secret_across_the_start_of_the_kept_tail_is_masked_not_cut(
        self, workspace: Path
    ) -> None:
        context = make_context(workspace, output_limit=100)
        command = f"{xs(1000)}; printf %s {MULTI_BYTE_SECRET}; {xs(35)}"
        result = await call(Bash(), context, command=command)
        assert result.content.endswith(MASK + "x" * 35 + "\n[exit code 0]")
        assert_hidden(result.content, MULTI_BYTE_SECRET)

    async def test_characters_at_the_edges_of_the_kept_tail_stay_whole(
        self, workspace: Path
    ) -> None:
        # Two bytes each; 101 kept from each end would once cut one in half.
        context = make_context(workspace, output_limit=101)
        result = await call(Bash(), context, command="printf 'é%.0s' {1..1000}")
        assert "\ufffd" not in result.content
        assert result.content.endswith("é" * 51 + "\n[exit code 0]")


class TestStoppedCommands:
    async def test_a_timeout_kills_the_whole_process_group(
        self, workspace: Path, context: ToolContext
    ) -> None:
        command = sleeping_child("3600.102")
        result = await asyncio.wait_for(
            call(Bash(), context, command=command, timeout_seconds=1), HANG_GUARD
        )
        assert result.is_error
        assert "timed out after 1 seconds" in result.content
        assert is_gone("3600.102")

    async def test_output_written_before_a_timeout_is_returned(self, context: ToolContext) -> None:
        command = "echo started; sleep 3600"
        result = await asyncio.wait_for(
            call(Bash(), context, command=command, timeout_seconds=1), HANG_GUARD
        )
        assert result.content.startswith("started\n")

    async def test_a_child_that_ignores_sigterm_is_killed(
        self, workspace: Path, context: ToolContext
    ) -> None:
        command = "trap '' TERM; " + sleeping_child("3600.103")
        result = await asyncio.wait_for(
            call(Bash(), context, command=command, timeout_seconds=1), HANG_GUARD
        )
        assert "timed out after 1 seconds" in result.content
        assert is_gone("3600.103")

    async def test_cancellation_kills_the_process_group(
        self, workspace: Path, context: ToolContext
    ) -> None:
        task = asyncio.create_task(call(Bash(), context, command=sleeping_child("3600.104")))
        await wait_for_file(workspace / "child.pid")
        await wait_until_sleeping("3600.104")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, HANG_GUARD)
        assert is_gone("3600.104")
