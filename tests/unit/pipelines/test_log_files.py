"""Windows of a step's log by byte offset: tails, pages both ways, what came since."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.pipelines.log_files import (
    log_size,
    read_log_from,
    read_log_since,
    read_log_tail,
)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """1,000 lines "line 0001" … "line 1000", 10 bytes each."""
    path = tmp_path / "step.log"
    path.write_text("".join(f"line {n:04d}\n" for n in range(1, 1001)))
    return path


def numbers(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines()]


def test_the_tail_of_a_short_log_is_all_of_it(log: Path) -> None:
    window = read_log_tail(str(log), size=100_000)

    assert window is not None
    assert numbers(window.text) == list(range(1, 1001))
    assert (window.start, window.end, window.size) == (0, 10_000, 10_000)
    assert not window.has_earlier
    assert not window.has_later


def test_the_tail_of_a_long_log_starts_on_a_line(log: Path) -> None:
    window = read_log_tail(str(log), size=95)

    assert window is not None
    assert numbers(window.text) == list(range(992, 1001))  # 9 whole lines, not 9.5
    assert window.start == 9_910
    assert window.has_earlier


def test_a_window_that_starts_exactly_on_a_line_keeps_that_line(log: Path) -> None:
    window = read_log_tail(str(log), size=100)

    assert window is not None
    assert numbers(window.text) == list(range(991, 1001))


def test_paging_back_neither_skips_nor_repeats_a_line(log: Path) -> None:
    seen: list[int] = []
    window = read_log_tail(str(log), size=333)
    while window is not None:
        seen = numbers(window.text) + seen
        if not window.has_earlier:
            break
        window = read_log_tail(str(log), before=window.start, size=333)

    assert seen == list(range(1, 1001))


def test_paging_forward_ends_each_page_on_a_line(log: Path) -> None:
    seen: list[int] = []
    offset = 0
    while True:
        window = read_log_from(str(log), offset, size=333)
        assert window is not None
        assert window.text.endswith("\n")
        seen += numbers(window.text)
        if not window.has_later:
            break
        offset = window.end

    assert seen == list(range(1, 1001))


def test_an_unfinished_last_line_waits_for_its_end(log: Path) -> None:
    with log.open("a") as file:
        file.write("line 10")

    tail = read_log_tail(str(log), size=50, whole_lines=True)
    since = read_log_since(str(log), 9_990)
    final = read_log_since(str(log), 9_990, whole_lines=False)

    assert tail is not None
    assert tail.text.endswith("line 1000\n")
    assert since is not None
    assert (since.text, since.end) == ("line 1000\n", 10_000)
    assert final is not None
    assert final.text == "line 1000\nline 10"


def test_what_came_since_an_offset_is_the_rest(log: Path) -> None:
    since = read_log_since(str(log), 9_970)

    assert since is not None
    assert numbers(since.text) == [998, 999, 1000]
    assert (since.start, since.end) == (9_970, 10_000)


def test_too_much_since_an_offset_gives_only_the_newest(log: Path) -> None:
    since = read_log_since(str(log), 0, limit=100)

    assert since is not None
    assert since.start > 0  # the reader sees that lines were skipped
    assert numbers(since.text) == list(range(991, 1001))


def test_offsets_from_a_browser_are_clamped_to_the_file(log: Path) -> None:
    beyond = read_log_since(str(log), 10**12)
    negative = read_log_from(str(log), -5, size=20)
    before = read_log_tail(str(log), before=-1)

    assert beyond is not None
    assert (beyond.text, beyond.start) == ("", 10_000)
    assert negative is not None
    assert numbers(negative.text) == [1, 2]
    assert before is not None
    assert before.text == ""


def test_a_missing_log_is_none_not_an_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.log")

    assert log_size(missing) is None
    assert log_size(None) is None
    assert read_log_tail(missing) is None
    assert read_log_from(None, 0) is None
    assert read_log_since(missing, 0) is None


def test_a_line_longer_than_the_window_is_cut_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_text("x" * 500 + "\n")

    tail = read_log_tail(str(path), size=100)
    page = read_log_from(str(path), 0, size=100)

    assert tail is not None
    assert tail.text == "x" * 99 + "\n"
    assert page is not None
    assert page.text == "x" * 100


def test_a_window_cut_inside_a_character_shows_a_replacement_not_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "utf8.log"
    path.write_text("é" * 100)  # two bytes each, no newline

    page = read_log_from(str(path), 1, size=10)

    assert page is not None
    assert page.text.startswith("\ufffd")
