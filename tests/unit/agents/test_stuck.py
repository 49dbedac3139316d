"""Stuck detection: cycles of replies, volatile output, parallel calls within one reply."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from orchestrate.agents.stuck import (
    MAX_CYCLE,
    WARNING_HEADING,
    ToolAction,
    find_loop,
    normalise_output,
    was_warned,
)

Call = tuple[str, Mapping[str, object], str]

READ: Call = ("read_file", {"path": "calc.py"}, "def add(a, b):\n    return a - b\n")
TEST: Call = ("bash", {"command": "pytest -q"}, "1 failed in 0.41s")
EDIT: Call = ("edit_file", {"path": "calc.py", "old_string": "a", "new_string": "b"}, "ok")


def replies(*steps: Call | list[Call]) -> list[ToolAction]:
    """One reply per step; a list is several calls in one reply."""
    history: list[ToolAction] = []
    for turn, step in enumerate(steps, start=1):
        calls = step if isinstance(step, list) else [step]
        history += [ToolAction(turn, name, args, output, False) for name, args, output in calls]
    return history


def repeated(cycle: Iterable[Call], times: int) -> list[Call]:
    return list(cycle) * times


class TestCycles:
    def test_one_call_repeated_n_times_is_a_loop(self) -> None:
        loop = find_loop(replies(*repeated([READ], 4)), repeats=4)
        assert loop is not None
        assert loop.repeats == 4
        assert loop.describe() == (
            'called read_file {"path": "calc.py"} 4 times in a row with the same result'
        )

    def test_one_fewer_repeat_is_not(self) -> None:
        assert find_loop(replies(*repeated([READ], 3)), repeats=4) is None

    def test_alternating_calls_are_a_cycle_of_two(self) -> None:
        loop = find_loop(replies(*repeated([READ, TEST], 4)), repeats=4)
        assert loop is not None
        assert [step[0].name for step in loop.cycle] == ["read_file", "bash"]
        assert loop.describe().startswith(
            'repeated the cycle read_file {"path": "calc.py"} → bash {"command": "pytest -q"} '
            "4 times in a row"
        )

    def test_a_cycle_of_three_is_found(self) -> None:
        loop = find_loop(replies(*repeated([READ, EDIT, TEST], 3)), repeats=3)
        assert loop is not None
        assert len(loop.cycle) == 3

    def test_a_cycle_of_two_needs_its_repeats_in_full(self) -> None:
        history = replies(*repeated([READ, TEST], 3), READ)
        assert find_loop(history, repeats=4) is None

    def test_cycles_longer_than_the_maximum_are_not_looked_for(self) -> None:
        cycle: list[Call] = [("bash", {"command": f"step {i}"}, "") for i in range(MAX_CYCLE + 1)]
        assert find_loop(replies(*repeated(cycle, 4)), repeats=4) is None

    def test_the_count_includes_repeats_before_the_window(self) -> None:
        loop = find_loop(replies(*repeated([READ, TEST], 5)), repeats=4)
        assert loop is not None
        assert loop.repeats == 5

    def test_a_new_call_breaks_the_cycle(self) -> None:
        history = replies(*repeated([READ, TEST], 4), EDIT)
        assert find_loop(history, repeats=4) is None

    def test_changed_arguments_are_progress(self) -> None:
        pages: list[Call] = [
            ("read_file", {"path": "big.txt", "offset": 100 * i}, "same text") for i in range(6)
        ]
        assert find_loop(replies(*pages), repeats=4) is None

    def test_a_different_result_is_progress(self) -> None:
        runs: list[Call] = [
            ("bash", {"command": "pytest -q"}, f"{failed} failed, {5 - failed} passed in 0.4s")
            for failed in (4, 3, 2, 1)
        ]
        assert find_loop(replies(*runs), repeats=4) is None

    def test_an_error_and_a_success_with_the_same_text_differ(self) -> None:
        history = replies(*repeated([READ], 3))
        history.append(ToolAction(4, READ[0], READ[1], READ[2], True))
        assert find_loop(history, repeats=4) is None

    def test_fewer_than_two_repeats_never_flags(self) -> None:
        assert find_loop(replies(READ), repeats=1) is None


class TestParallelCallsInOneReply:
    def test_four_identical_calls_in_the_first_reply_are_not_a_loop(self) -> None:
        assert find_loop(replies([READ, READ, READ, READ]), repeats=4) is None

    def test_a_reply_is_one_step_however_many_calls_it_has(self) -> None:
        assert find_loop(replies(*[[READ, TEST]] * 3), repeats=4) is None
        loop = find_loop(replies(*[[READ, TEST]] * 4), repeats=4)
        assert loop is not None
        assert loop.describe().startswith(
            'called read_file {"path": "calc.py"} + bash {"command": "pytest -q"} 4 times'
        )

    def test_the_order_of_calls_within_a_reply_does_not_matter(self) -> None:
        history = replies([READ, TEST], [TEST, READ], [READ, TEST], [TEST, READ])
        assert find_loop(history, repeats=4) is not None

    def test_duplicates_within_a_reply_count_once(self) -> None:
        history = replies([READ, READ], READ, [READ, READ, READ], READ)
        assert find_loop(history, repeats=4) is not None


class TestVolatileOutput:
    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("1 failed in 0.41s", "1 failed in 0.57s"),
            ("real 0m0.003s", "real 0m0.011s"),
            ("took 12 ms", "took 9 ms"),
            ("2026-12-06T04:55:38.123Z built", "2026-12-06T04:56:02.917Z built"),
            ("Sun Dec  6 04:55:38 UTC 2026", "Sun Dec  6 04:57:12 UTC 2026"),
            ("server started, pid 4242", "server started, pid 4311"),
            ("sshd[12345]: listening", "sshd[12399]: listening"),
            ("wrote /tmp/tmpa8f_3kx/out.txt", "wrote /tmp/tmpq01zz9e/out.txt"),
            ("<Foo object at 0x7f3a2b10>", "<Foo object at 0x7f3a2c88>"),
            ("HEAD is now at 3f9a2c1 Fix", "HEAD is now at 9be01d4 Fix"),
            (
                "request 550e8400-e29b-41d4-a716-446655440000",
                "request 6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            ),
            ("attempt #3: connection refused", "attempt #4: connection refused"),
            ("now=1733456789", "now=1733456795"),
        ],
    )
    def test_output_that_differs_only_in_volatile_parts_is_the_same(
        self, first: str, second: str
    ) -> None:
        assert normalise_output(first) == normalise_output(second)

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("3 failed, 2 passed", "2 failed, 3 passed"),
            ("error on line 10", "error on line 12"),
            ("10 items", "11 items"),
            ("decade", "facade"),
            ("build 12345678 bytes", "build 12345679 bytes"),
        ],
    )
    def test_other_differences_are_kept(self, first: str, second: str) -> None:
        assert normalise_output(first) != normalise_output(second)

    def test_a_command_printing_the_time_each_run_is_a_loop(self) -> None:
        runs: list[Call] = [
            (
                "bash",
                {"command": "date; make"},
                f"Sun Dec  6 04:5{i}:0{i} UTC 2026\nmake: *** Error 2",
            )
            for i in range(4)
        ]
        assert find_loop(replies(*runs), repeats=4) is not None


class TestWarning:
    def test_the_warning_names_the_cycle_and_the_way_out(self) -> None:
        loop = find_loop(replies(*repeated([READ, TEST], 4)), repeats=4)
        assert loop is not None
        warning = loop.warning()
        assert warning.startswith(WARNING_HEADING)
        assert "read_file" in warning
        assert "finish" in warning
        assert "blocked" in warning
        assert was_warned(["Fix the bug", warning])
        assert not was_warned(["Fix the bug", "you appear to be stuck"])

    def test_the_failure_reason_says_a_warning_came_first(self) -> None:
        loop = find_loop(replies(*repeated([READ], 5)), repeats=4)
        assert loop is not None
        assert loop.failure_reason() == (
            'stuck: called read_file {"path": "calc.py"} 5 times in a row with the same '
            "result, and kept repeating after a warning"
        )
