"""A repository's merge policy: what must hold before Orchestrate merges a pull request.

The policy is per repository and stored with the registry. A repository without a
stored policy has :data:`DEFAULT_POLICY`: one approval, every reported check green,
squash, no automatic merging. The merge controller (``forges``) reads it; this module
only says what a policy is and what a valid one looks like.

- ``required_approvals``: approvals by trusted reviewers (0 to 20);
- ``required_checks``: check names that must succeed; empty means every check the
  forge reports must pass. A required check the forge has not reported is pending;
- ``method``: ``merge``, ``squash`` or ``rebase``;
- ``auto_merge``: the shepherd merges on its own once the pull request is ready (an
  explicit ``pr merge`` merges a ready pull request whatever this says);
- ``require_up_to_date``: a branch behind its base is updated (and its checks run
  again) before it merges;
- ``count_stale_approvals``: an approval given on an older head still counts (GitHub's
  default); off, only approvals of the current head count ("dismiss stale approvals").

Drafts never merge; there is no setting for it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from orchestrate.core.errors import ValidationFailed

MAX_APPROVALS: Final = 20
MAX_REQUIRED_CHECKS: Final = 50
CHECK_NAME_MAX_LENGTH: Final = 200

_T = TypeVar("_T")


class MergeMethodName(enum.StrEnum):
    """How a pull request lands (the forges' merge methods, by the same names)."""

    MERGE = "merge"
    SQUASH = "squash"
    REBASE = "rebase"


@dataclass(frozen=True)
class MergePolicy:
    required_approvals: int = 1
    required_checks: tuple[str, ...] = ()
    method: MergeMethodName = MergeMethodName.SQUASH
    auto_merge: bool = False
    require_up_to_date: bool = False
    count_stale_approvals: bool = True


DEFAULT_POLICY: Final = MergePolicy()


@dataclass(frozen=True)
class MergePolicyChange:
    """A change to a policy: each field given replaces the current value, None keeps it."""

    required_approvals: int | None = None
    required_checks: tuple[str, ...] | None = None
    method: MergeMethodName | None = None
    auto_merge: bool | None = None
    require_up_to_date: bool | None = None
    count_stale_approvals: bool | None = None

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())

    def applied_to(self, policy: MergePolicy) -> MergePolicy:
        """``policy`` with this change, validated."""
        return checked(
            MergePolicy(
                required_approvals=_pick(self.required_approvals, policy.required_approvals),
                required_checks=_pick(self.required_checks, policy.required_checks),
                method=_pick(self.method, policy.method),
                auto_merge=_pick(self.auto_merge, policy.auto_merge),
                require_up_to_date=_pick(self.require_up_to_date, policy.require_up_to_date),
                count_stale_approvals=_pick(
                    self.count_stale_approvals, policy.count_stale_approvals
                ),
            )
        )


@dataclass(frozen=True)
class RepositoryMergePolicy:
    """A repository's policy as shown: ``is_default`` when none is stored (then
    ``updated_at`` and ``updated_by`` are None); ``is_seed`` for a repository of the
    seed setting, whose policy is always the default."""

    repository: str
    policy: MergePolicy
    is_default: bool
    is_seed: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None


def _pick(given: _T | None, current: _T) -> _T:
    return current if given is None else given


def check_method(method: str) -> MergeMethodName:
    try:
        return MergeMethodName(method.strip().lower())
    except ValueError:
        known = ", ".join(m.value for m in MergeMethodName)
        raise ValidationFailed(
            f"Unknown merge method {method!r}: use one of {known}", field="method", method=method
        ) from None


def check_approvals(count: int) -> int:
    if not 0 <= count <= MAX_APPROVALS:
        raise ValidationFailed(
            f"Required approvals must be between 0 and {MAX_APPROVALS} (got {count})",
            field="required_approvals",
        )
    return count


def check_check_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names stripped, in order, each once; ``ValidationFailed`` for an empty or
    overlong name or too many of them."""
    found: list[str] = []
    for name in names:
        stripped = name.strip()
        if not stripped or len(stripped) > CHECK_NAME_MAX_LENGTH or not stripped.isprintable():
            raise ValidationFailed(
                f"Invalid check name {name!r}: give the check's name as the forge shows it "
                f"(1 to {CHECK_NAME_MAX_LENGTH} printable characters)",
                field="required_checks",
            )
        if stripped not in found:
            found.append(stripped)
    if len(found) > MAX_REQUIRED_CHECKS:
        raise ValidationFailed(
            f"At most {MAX_REQUIRED_CHECKS} required checks (got {len(found)})",
            field="required_checks",
        )
    return tuple(found)


def checked(policy: MergePolicy) -> MergePolicy:
    """``policy`` with its check names normalized, or ``ValidationFailed``."""
    check_approvals(policy.required_approvals)
    return MergePolicy(
        required_approvals=policy.required_approvals,
        required_checks=check_check_names(policy.required_checks),
        method=check_method(policy.method),
        auto_merge=policy.auto_merge,
        require_up_to_date=policy.require_up_to_date,
        count_stale_approvals=policy.count_stale_approvals,
    )
