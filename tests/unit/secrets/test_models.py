"""Secret names follow GitHub's rules and are upper-cased; values are bounded."""

from __future__ import annotations

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.secrets.models import VALUE_MAX_BYTES, check_value, normalise_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [("DEPLOY_TOKEN", "DEPLOY_TOKEN"), ("api_key", "API_KEY"), ("_X1", "_X1"), (" a ", "A")],
)
def test_valid_names_are_upper_cased(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


@pytest.mark.parametrize("name", ["", "1ST", "WITH-DASH", "with space", "DOT.NAME", "É", "A" * 101])
def test_invalid_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(ValidationFailed, match="letters, digits and underscores"):
        normalise_name(name)


def test_an_empty_or_oversized_value_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        check_value("")
    with pytest.raises(ValidationFailed, match="KiB"):
        check_value("x" * (VALUE_MAX_BYTES + 1))
    assert check_value(" keeps spaces \n") == " keeps spaces \n"
