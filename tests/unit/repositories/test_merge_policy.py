"""What a valid merge policy is, and how a change applies to one."""

from __future__ import annotations

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.repositories.merge_policy import (
    DEFAULT_POLICY,
    MergeMethodName,
    MergePolicy,
    MergePolicyChange,
    check_method,
)


def test_the_default_is_one_approval_all_checks_squash_and_no_auto_merge() -> None:
    expected = MergePolicy(
        required_approvals=1,
        required_checks=(),
        method=MergeMethodName.SQUASH,
        auto_merge=False,
        require_up_to_date=False,
        count_stale_approvals=True,
    )
    assert expected == DEFAULT_POLICY


def test_a_change_replaces_only_what_it_names() -> None:
    changed = MergePolicyChange(required_approvals=2, auto_merge=True).applied_to(DEFAULT_POLICY)
    assert changed == MergePolicy(required_approvals=2, auto_merge=True)


def test_an_empty_list_of_checks_is_a_change_and_none_is_not() -> None:
    policy = MergePolicy(required_checks=("test",))
    assert MergePolicyChange(required_checks=()).applied_to(policy).required_checks == ()
    assert MergePolicyChange().applied_to(policy).required_checks == ("test",)
    assert MergePolicyChange().is_empty
    assert not MergePolicyChange(required_checks=()).is_empty


def test_check_names_are_stripped_and_kept_once_in_order() -> None:
    change = MergePolicyChange(required_checks=(" test ", "lint", "test"))
    assert change.applied_to(DEFAULT_POLICY).required_checks == ("test", "lint")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (MergePolicyChange(required_approvals=-1), "required_approvals"),
        (MergePolicyChange(required_approvals=21), "required_approvals"),
        (MergePolicyChange(required_checks=("",)), "required_checks"),
        (MergePolicyChange(required_checks=("x" * 201,)), "required_checks"),
        (MergePolicyChange(required_checks=("bad\nname",)), "required_checks"),
        (MergePolicyChange(required_checks=tuple(f"c{i}" for i in range(51))), "required_checks"),
    ],
)
def test_bad_values_are_refused_naming_the_field(change: MergePolicyChange, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        change.applied_to(DEFAULT_POLICY)
    assert raised.value.context["field"] == field


def test_methods_are_read_case_insensitively_and_unknown_ones_refused() -> None:
    assert check_method(" Rebase ") is MergeMethodName.REBASE
    with pytest.raises(ValidationFailed, match="use one of merge, squash, rebase"):
        check_method("fast-forward")
