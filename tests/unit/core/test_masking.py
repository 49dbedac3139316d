"""Masking text that streams in: cutting it where ``safe_cut`` says never lets a secret out."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from orchestrate.core.masking import MASK, Masker

SECRET = "s3cr3t-v4lue"


def mask_streamed(masker: Masker, chunks: Sequence[str]) -> str:
    """Mask ``chunks`` as a log writer does: each safe prefix on its own, the rest later."""
    masked, pending = [], ""
    for chunk in chunks:
        pending += chunk
        cut = masker.safe_cut(pending)
        masked.append(masker.mask(pending[:cut]))
        pending = pending[cut:]
    masked.append(masker.mask(pending))
    return "".join(masked)


class TestSafeCut:
    def test_without_values_all_of_the_text_may_go(self) -> None:
        assert Masker().safe_cut("anything") == len("anything")

    def test_room_is_left_for_a_value_still_being_written(self) -> None:
        text = "x" * 20 + SECRET[:5]
        assert Masker([SECRET]).safe_cut(text) == len(text) - (len(SECRET) - 1)

    def test_a_cut_never_falls_inside_a_value(self) -> None:
        text = "x" * 20 + SECRET + "y" * 5
        assert Masker([SECRET]).safe_cut(text) == 20

    def test_a_value_split_across_chunks_is_masked(self) -> None:
        chunks = ["x" * 20 + SECRET[:7], SECRET[7:] + "y"]
        assert mask_streamed(Masker([SECRET]), chunks) == "x" * 20 + MASK + "y"

    def test_a_value_added_later_is_used_for_the_next_cut(self) -> None:
        masker = Masker()
        masker.add(SECRET)
        assert masker.safe_cut(SECRET[:6]) == 0


# Few letters and overlapping values: the cases where a cut could split a match.
_values = st.lists(st.text(alphabet="ab€", min_size=4, max_size=7), min_size=1, max_size=3)
_chunks = st.lists(st.text(alphabet="ab€c", max_size=12), max_size=12)


@given(values=_values, chunks=_chunks)
def test_masking_in_safe_pieces_hides_what_masking_the_whole_text_hides(
    values: list[str], chunks: list[str]
) -> None:
    masker = Masker(values)
    assert mask_streamed(masker, chunks) == masker.mask("".join(chunks))
