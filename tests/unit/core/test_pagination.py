"""Opaque cursors: they round-trip, and anything a client makes up is a clean 422."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.pagination import (
    MAX_PAGE_SIZE,
    IdCursor,
    KeyCursor,
    TimeCursor,
    check_page_size,
    page_in_memory,
)


def encode(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class TestRoundTrips:
    def test_a_time_cursor_comes_back_as_the_same_position(self) -> None:
        cursor = TimeCursor(datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC), "job_01abc")

        assert TimeCursor.decode(cursor.encode()) == cursor

    def test_a_time_cursor_from_another_time_zone_decodes_as_utc(self) -> None:
        moment = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))

        decoded = TimeCursor.decode(TimeCursor(moment, "x").encode())

        assert decoded.created_at == moment
        assert decoded.created_at.utcoffset() == timedelta(0)

    def test_an_id_cursor_comes_back_as_the_same_position(self) -> None:
        assert IdCursor.decode(IdCursor(42).encode()) == IdCursor(42)

    def test_cursors_are_url_safe(self) -> None:
        text = TimeCursor(datetime(2026, 1, 1, tzinfo=UTC), "a/b+c?d").encode()

        assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @given(st.integers(min_value=0, max_value=2**63 - 1))
    def test_every_bigint_id_round_trips(self, value: int) -> None:
        assert IdCursor.decode(IdCursor(value).encode()).id == value

    @given(
        st.datetimes(timezones=st.just(UTC)),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
    )
    def test_every_time_position_round_trips(self, moment: datetime, item_id: str) -> None:
        assert TimeCursor.decode(TimeCursor(moment, item_id).encode()) == TimeCursor(
            moment, item_id
        )


class TestInventedCursors:
    @pytest.mark.parametrize(
        "cursor",
        [
            "",
            "!!!",
            "not base64 at all",
            encode([1, 2, 3]),
            encode("a string"),
            encode({"n": "12"}),
            encode({"n": 1.5}),
            encode({"n": True}),
            encode({"n": -1}),
            encode({"n": 2**63}),
            encode({"n": 10**40}),
            encode({"x": 1}),
            base64.urlsafe_b64encode(b"\xff\xfe").decode(),
            base64.urlsafe_b64encode(b"[" * 5000).decode(),
        ],
    )
    def test_a_malformed_id_cursor_is_a_validation_error_naming_the_cursor(
        self, cursor: str
    ) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor") as raised:
            IdCursor.decode(cursor)

        assert raised.value.context["field"] == "cursor"

    @pytest.mark.parametrize(
        "data",
        [
            {"t": "yesterday", "i": "x"},
            {"i": "x"},
            {"t": "2026-01-01T00:00:00+00:00"},
            {"t": ["2026-01-01"], "i": "x"},
            {"t": "0001-01-01T00:00:00+14:00", "i": "x"},
            {"t": "9999-12-31T23:59:59-12:00", "i": "x"},
            {"n": 5},
        ],
    )
    def test_a_malformed_time_cursor_is_a_validation_error(self, data: object) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor"):
            TimeCursor.decode(encode(data))

    def test_a_very_long_cursor_is_quoted_shortened_in_the_message(self) -> None:
        with pytest.raises(ValidationFailed) as raised:
            IdCursor.decode("x" * 10_000)

        assert len(raised.value.message) < 200

    @given(st.text(max_size=200))
    def test_any_text_decodes_or_fails_with_a_validation_error(self, cursor: str) -> None:
        for decode in (IdCursor.decode, TimeCursor.decode):
            with contextlib.suppress(ValidationFailed):
                decode(cursor)

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
            max_leaves=8,
        )
        | st.fixed_dictionaries({"t": st.text(max_size=40), "i": st.integers() | st.text()})
        | st.fixed_dictionaries({"n": st.integers() | st.floats() | st.booleans()})
    )
    def test_any_json_decodes_or_fails_with_a_validation_error(self, data: object) -> None:
        for decode in (IdCursor.decode, TimeCursor.decode):
            with contextlib.suppress(ValidationFailed):
                decode(encode(data))


class TestPageSize:
    @pytest.mark.parametrize("limit", [1, 50, MAX_PAGE_SIZE])
    def test_a_limit_within_bounds_is_accepted(self, limit: int) -> None:
        assert check_page_size(limit) == limit

    @pytest.mark.parametrize("limit", [0, -5, MAX_PAGE_SIZE + 1])
    def test_a_limit_out_of_bounds_names_the_limit(self, limit: int) -> None:
        with pytest.raises(ValidationFailed, match=f"between 1 and {MAX_PAGE_SIZE}") as raised:
            check_page_size(limit)

        assert raised.value.context["field"] == "limit"


class TestKeyCursors:
    def test_a_key_cursor_comes_back_as_the_same_position(self) -> None:
        assert KeyCursor.decode(KeyCursor("deploy/prod ü").encode()) == KeyCursor("deploy/prod ü")

    @pytest.mark.parametrize("data", [{"k": 1}, {"k": None}, {"n": 3}, ["k"]])
    def test_a_key_cursor_that_is_not_a_text_key_is_refused(self, data: object) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor"):
            KeyCursor.decode(encode(data))

    def test_pages_in_memory_follow_the_key_order_and_end_with_no_cursor(self) -> None:
        names = ["delta", "alpha", "charlie", "bravo", "echo"]

        first = page_in_memory(names, str, 2, None)
        second = page_in_memory(names, str, 2, first.next_cursor)
        third = page_in_memory(names, str, 2, second.next_cursor)

        assert [first.items, second.items, third.items] == [
            ["alpha", "bravo"],
            ["charlie", "delta"],
            ["echo"],
        ]
        assert third.next_cursor is None

    def test_an_item_added_before_the_cursor_does_not_shift_the_next_page(self) -> None:
        first = page_in_memory(["b", "c", "d"], str, 2, None)

        second = page_in_memory(["a", "b", "c", "d"], str, 2, first.next_cursor)

        assert second.items == ["d"]

    def test_a_key_cursor_with_a_nul_character_is_refused(self) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor"):
            KeyCursor.decode(encode({"k": "a\x00b"}))

    def test_a_time_cursor_whose_id_has_a_nul_character_is_refused(self) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor"):
            TimeCursor.decode(encode({"t": "2026-01-01T00:00:00+00:00", "i": "a\x00"}))
