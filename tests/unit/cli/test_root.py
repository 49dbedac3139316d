"""The root command's error mapping, run the way the console script runs it."""

from __future__ import annotations

from typing import ClassVar

import pytest

from orchestrate.cli.root import LazyCommand, RootGroup
from orchestrate.core.errors import OrchestrateError


def write_to_a_closed_pipe() -> None:
    """What a command's print does when the reader (``| head``) has gone."""
    raise BrokenPipeError(32, "Broken pipe")


def fail_with_our_error() -> None:
    raise OrchestrateError("the story does not exist")


class _Root(RootGroup):
    lazy_commands: ClassVar = (
        LazyCommand("pipe", f"{__name__}:write_to_a_closed_pipe", "Write to a closed pipe."),
        LazyCommand("fail", f"{__name__}:fail_with_our_error", "Fail with our error."),
    )


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as ended:
        _Root(name="orchestrate").main(args, prog_name="orchestrate")
    return int(ended.value.code or 0)


def test_a_closed_pipe_ends_quietly_and_is_not_called_a_database_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(["pipe"]) == 1
    assert "database" not in capsys.readouterr().err


def test_our_errors_are_one_line_and_a_non_zero_exit(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["fail"]) != 0
    err = capsys.readouterr().err
    assert "the story does not exist" in err
    assert "Traceback" not in err
