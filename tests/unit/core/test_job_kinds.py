"""Job kinds: a payload model in, the same model out, and a clear refusal otherwise."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

import pytest

from orchestrate.core.errors import ConfigurationError, ValidationFailed
from orchestrate.core.jobs import (
    JobContext,
    JobFailed,
    JobKind,
    JobPayload,
    JobRegistry,
    NoPayload,
    PayloadInvalid,
)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Paint(JobPayload):
    wall: str
    coats: int
    colour: Colour
    note: str = ""


PAINT = JobKind("test.paint", Paint)


async def paint(context: JobContext[Paint]) -> None:
    return None


class TestRoundTrip:
    def test_a_payload_is_stored_as_its_fields_and_read_back_equal(self) -> None:
        payload = Paint(wall="north", coats=2, colour=Colour.BLUE)
        stored = PAINT.dump(payload)
        assert stored == {"wall": "north", "coats": 2, "colour": "blue", "note": ""}
        assert PAINT.parse(stored) == payload
        assert PAINT.parse(stored).colour is Colour.BLUE

    def test_a_payload_from_before_an_optional_field_was_added_still_parses(self) -> None:
        assert PAINT.parse({"wall": "north", "coats": 2, "colour": "red"}).note == ""

    def test_keys_the_model_does_not_know_are_ignored(self) -> None:
        parsed = PAINT.parse({"wall": "north", "coats": 2, "colour": "red", "added_later": 1})
        assert parsed == Paint(wall="north", coats=2, colour=Colour.RED)

    def test_a_kind_without_a_payload_stores_an_empty_object(self) -> None:
        kind = JobKind("test.tick", NoPayload)
        assert kind.dump(NoPayload()) == {}
        assert kind.parse({}) == NoPayload()

    def test_a_payload_of_another_model_is_refused_at_enqueue(self) -> None:
        with pytest.raises(ValidationFailed, match=r"'test\.paint' job takes a Paint payload"):
            PAINT.dump(NoPayload())  # type: ignore[arg-type]


class TestMalformedPayloads:
    def test_a_missing_and_a_mistyped_field_are_named_in_one_line(self) -> None:
        with pytest.raises(PayloadInvalid) as caught:
            PAINT.parse({"wall": "north", "coats": "many"})
        message = str(caught.value)
        assert "'test.paint' job does not fit Paint" in message
        assert "coats: Input should be a valid integer" in message
        assert "colour: Field required" in message
        assert "\n" not in message

    def test_the_rejected_values_are_not_repeated_in_the_message(self) -> None:
        with pytest.raises(PayloadInvalid) as caught:
            PAINT.parse({"wall": "north", "coats": "hunter2-secret", "colour": "red"})
        assert "hunter2-secret" not in str(caught.value)

    def test_an_unknown_enum_value_is_refused(self) -> None:
        with pytest.raises(PayloadInvalid, match="colour: Input should be 'red' or 'blue'"):
            PAINT.parse({"wall": "north", "coats": 1, "colour": "green"})

    @pytest.mark.parametrize("stored", [None, [1, 2], "north"])
    def test_a_payload_that_is_not_an_object_is_refused(self, stored: object) -> None:
        with pytest.raises(PayloadInvalid, match="the payload: Input should be"):
            PAINT.parse(stored)

    def test_a_malformed_payload_is_a_failure_that_is_never_retried(self) -> None:
        with pytest.raises(JobFailed) as caught:
            PAINT.parse({})
        assert caught.value.retry is False


class TestRegistry:
    def test_a_kind_is_registered_with_its_payload_model_and_handler(self) -> None:
        registry = JobRegistry()
        registry.register(PAINT, paint, timeout=timedelta(seconds=5), max_concurrent=2)
        spec = registry.get("test.paint")
        assert (spec.kind, spec.handler, spec.name) == (PAINT, paint, "test.paint")
        assert spec.kind.payload is Paint
        assert registry.kinds == ["test.paint"]

    def test_two_handlers_for_one_kind_name_are_refused(self) -> None:
        registry = JobRegistry()
        registry.register(PAINT, paint)
        with pytest.raises(ConfigurationError, match="Two handlers registered for job kind"):
            registry.register(JobKind("test.paint", NoPayload), paint)  # type: ignore[arg-type]

    def test_merging_registries_keeps_each_kind_with_its_model(self) -> None:
        first, second = JobRegistry(), JobRegistry()
        first.register(PAINT, paint)
        second.merge(first)
        assert second.get("test.paint").kind is PAINT

    def test_a_kind_needs_a_name(self) -> None:
        with pytest.raises(ConfigurationError):
            JobKind("", Paint)
