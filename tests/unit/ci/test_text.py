from __future__ import annotations

from orchestrate.ci.models import MAX_MESSAGE_CHARS, MAX_OUTPUT_CHARS
from orchestrate.ci.parsing.text import cap, clean_text, decode, excerpt, first_line


class TestCleanText:
    def test_colour_codes_are_removed_and_text_kept(self) -> None:
        raw = "tests/a.py::test_x \x1b[32mPASSED\x1b[0m\x1b[32m  [ 50%]\x1b[0m"

        assert clean_text(raw) == "tests/a.py::test_x PASSED  [ 50%]"

    def test_hyperlinks_and_erase_line_sequences_are_removed(self) -> None:
        raw = "\x1b]8;;file:///x\x1b\\link\x1b]8;;\x1b\\ done\x1b[0K"

        assert clean_text(raw) == "link done"

    def test_github_actions_timestamps_are_removed_from_every_line(self) -> None:
        raw = "2026-12-01T10:00:00.1234567Z === RUN   TestA\n2026-12-01T10:00:01.0000000Z ok"

        assert clean_text(raw) == "=== RUN   TestA\nok"

    def test_carriage_return_keeps_what_overwrote_the_line(self) -> None:
        raw = "section_start:1700000000:step_script\r\x1b[0KExecuting tests\r\nnext\r\n"

        assert clean_text(raw) == "Executing tests\nnext\n"

    def test_in_xml_a_lone_carriage_return_ends_a_line(self) -> None:
        assert clean_text("<a>\rkept</a>\r\n", is_xml=True) == "<a>\nkept</a>\n"


class TestDecode:
    def test_utf16_with_a_byte_order_mark_is_read(self) -> None:
        assert decode("<testsuite/>".encode("utf-16")) == "<testsuite/>"

    def test_undecodable_bytes_are_replaced_not_refused(self) -> None:
        assert decode(b"ok \xff end") == "ok \ufffd end"

    def test_a_utf8_byte_order_mark_is_dropped(self) -> None:
        assert decode(b"\xef\xbb\xbfPASS") == "PASS"


class TestCaps:
    def test_first_line_skips_blank_lines(self) -> None:
        assert first_line("\n\n  AssertionError: boom  \nmore") == "AssertionError: boom"

    def test_a_long_message_is_capped_with_a_marker(self) -> None:
        message = first_line("x" * 10_000)

        kept = message.index("…")
        assert len(message) <= MAX_MESSAGE_CHARS
        assert message.endswith(f"… [{10_000 - kept} more characters]")

    def test_output_excerpt_is_capped(self) -> None:
        output = excerpt("line\n" * 10_000)

        assert MAX_OUTPUT_CHARS - 40 <= len(output) <= MAX_OUTPUT_CHARS

    def test_short_text_is_left_alone(self) -> None:
        assert cap("short", 10) == "short"
