"""Change sets: one change spanning several repositories, merged in dependency order.

A change set has one member per repository; each member is a completed agent run's
branch (or a pull request Orchestrate opened already). Its life:

    open ──(every pull request opened)──▶ merging ──(every member merged)──▶ merged
      │                                     │
      └──────────────┬──────────────────────┘
                     ▼
        failed (a pull request closed, a merge refused, nothing to deliver)
        cancelled (by a person)

The order is the repositories' dependency order, dependencies first and ties by name
(``merge_order``); a member depends on every other member its repository reaches in
the repository graph, through repositories outside the set too. A member merges only
once every member it depends on has merged (``ready_to_merge``).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from orchestrate.core.errors import InvalidTransition, ValidationFailed

TITLE_MAX_LENGTH: Final = 200
DESCRIPTION_MAX_LENGTH: Final = 10_000
MAX_MEMBERS: Final = 50


class ChangeSetState(StrEnum):
    OPEN = "open"
    """Recorded; its pull requests are being opened."""
    MERGING = "merging"
    """Every pull request is open; they are merged in order as their policies allow."""
    MERGED = "merged"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED


_FINISHED: Final = frozenset(
    {ChangeSetState.MERGED, ChangeSetState.FAILED, ChangeSetState.CANCELLED}
)

_TRANSITIONS: Final[Mapping[ChangeSetState, frozenset[ChangeSetState]]] = {
    ChangeSetState.OPEN: frozenset(
        {ChangeSetState.MERGING, ChangeSetState.FAILED, ChangeSetState.CANCELLED}
    ),
    ChangeSetState.MERGING: frozenset(
        {ChangeSetState.MERGED, ChangeSetState.FAILED, ChangeSetState.CANCELLED}
    ),
}


def check_transition(change_set_id: str, before: ChangeSetState, after: ChangeSetState) -> None:
    """Raise ``InvalidTransition`` unless a change set may move from ``before`` to ``after``."""
    if after not in _TRANSITIONS.get(before, frozenset()):
        raise InvalidTransition(
            f"Change set {change_set_id} is {before.value}; it cannot become {after.value}",
            change_set_id=change_set_id,
            state=before.value,
        )


class MemberState(StrEnum):
    PENDING = "pending"
    """No pull request yet."""
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"
    """Closed without being merged: the change set fails."""


@dataclass(frozen=True)
class Member:
    """One repository's part of a change set; ``position`` is its place in merge order."""

    position: int
    repository: str
    agent_id: str | None
    depends_on: tuple[str, ...]
    """The members' repositories this one waits for (its dependencies within the set)."""
    state: MemberState
    pr_number: int | None = None
    pr_url: str | None = None
    note: str | None = None
    """The latest word on why it has not merged (the merge policy's reasons, the forge's)."""
    merged_at: datetime | None = None

    @property
    def pull_request(self) -> str | None:
        return None if self.pr_number is None else f"{self.repository}#{self.pr_number}"


@dataclass(frozen=True)
class ChangeSet:
    id: str
    title: str
    description: str
    state: ChangeSetState
    created_by: str
    created_at: datetime
    updated_at: datetime
    members: tuple[Member, ...]
    """In merge order."""
    failure_reason: str | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class MemberStatus:
    """Where one member stands, for ``changeset status``."""

    member: Member
    waiting_for: str | None
    """What it waits for, in words; None once merged."""


@dataclass(frozen=True)
class MergeOrder:
    """The members' repositories dependencies first, and what each waits for."""

    order: tuple[str, ...]
    depends_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _key(name: str) -> str:
    return name.strip().casefold()


def merge_order(repositories: Sequence[str], edges: Iterable[tuple[str, str]]) -> MergeOrder:
    """Order ``repositories`` (the members) dependencies first, ties by name.

    ``edges`` are the repository graph's ``(repository, depends_on)`` pairs, members or
    not: a member depends on every member it reaches through them. Two members that
    reach each other are a cycle: ``ValidationFailed`` naming them, since neither could
    merge first.
    """
    names = {_key(name): name for name in repositories}
    successors: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        if _key(source) != _key(target):
            successors[_key(source)].add(_key(target))
    needs = {key: _reachable(key, successors) & set(names) - {key} for key in names}
    for key, wanted in sorted(needs.items()):
        for other in sorted(wanted):
            if key in needs[other]:
                raise ValidationFailed(
                    f"Repositories {names[key]} and {names[other]} depend on each other "
                    "(see 'orchestrate repo graph'): neither can merge first, so they cannot "
                    "be in one change set",
                    cycle=[names[key], names[other]],
                )
    return MergeOrder(
        order=_dependencies_first(names, needs),
        depends_on={
            names[key]: tuple(names[k] for k in sorted(wanted)) for key, wanted in needs.items()
        },
    )


def _reachable(start: str, successors: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for following in successors.get(stack.pop(), ()):
            if following not in seen:
                seen.add(following)
                stack.append(following)
    return seen


def _dependencies_first(names: Mapping[str, str], needs: Mapping[str, set[str]]) -> tuple[str, ...]:
    waiting = {key: set(wanted) for key, wanted in needs.items()}
    ready = [key for key, wanted in waiting.items() if not wanted]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        key = heapq.heappop(ready)
        order.append(names[key])
        for other, wanted in waiting.items():
            if key in wanted:
                wanted.discard(key)
                if not wanted:
                    heapq.heappush(ready, other)
    return tuple(order)


def ready_to_merge(members: Sequence[Member]) -> list[Member]:
    """The members not merged yet whose every dependency has merged, in order."""
    merged = {_key(m.repository) for m in members if m.state is MemberState.MERGED}
    return [
        member
        for member in members
        if member.state is not MemberState.MERGED
        and all(_key(dependency) in merged for dependency in member.depends_on)
    ]


def member_statuses(change_set: ChangeSet) -> list[MemberStatus]:
    """Each member in merge order with what it waits for."""
    by_key = {_key(m.repository): m for m in change_set.members}
    statuses: list[MemberStatus] = []
    for member in change_set.members:
        statuses.append(MemberStatus(member, _waiting_for(change_set, member, by_key)))
    return statuses


def _waiting_for(change_set: ChangeSet, member: Member, by_key: Mapping[str, Member]) -> str | None:
    if member.state is MemberState.MERGED:
        return None
    if change_set.state is ChangeSetState.CANCELLED:
        return "nothing: the change set was cancelled"
    if member.state is MemberState.CLOSED:
        return "nothing: its pull request was closed without merging"
    if member.state is MemberState.PENDING:
        return "its pull request to be opened"
    unmerged = [
        by_key[_key(name)] for name in member.depends_on
        if by_key[_key(name)].state is not MemberState.MERGED
    ]  # fmt: skip
    if unmerged:
        return "; ".join(f"{_label(other)} to merge first" for other in unmerged)
    if change_set.state is ChangeSetState.FAILED:
        return "nothing: the change set failed"
    return member.note or "its merge policy (approvals, checks) to allow the merge"


def _label(member: Member) -> str:
    return member.pull_request or member.repository


def sibling_note(change_set: ChangeSet, member: Member) -> str:
    """The comment each pull request of a change set gets: the set, its siblings in merge
    order, and what this one merges after. Names and numbers only; no model output."""
    marker = comment_marker(change_set.id)
    lines = [
        marker,
        f"This pull request is part of change set `{change_set.id}` "
        f"({' '.join(change_set.title.split())}), merged by Orchestrate in dependency order:",
        "",
    ]
    for other in change_set.members:
        this = " ← this one" if other.position == member.position else ""
        lines.append(f"{other.position + 1}. {_label(other)}{this}")
    lines.append("")
    if member.depends_on:
        after = ", ".join(_label(_member_named(change_set, name)) for name in member.depends_on)
        lines.append(f"It merges after {after}.")
    else:
        lines.append("It depends on no other member: it merges first.")
    lines.append(f"See `orchestrate changeset status {change_set.id}`.")
    return "\n".join(lines)


def comment_marker(change_set_id: str) -> str:
    """The hidden line that finds a change set's comment again (never posted twice)."""
    return f"<!-- orchestrate-changeset: {change_set_id} -->"


def _member_named(change_set: ChangeSet, name: str) -> Member:
    return next(m for m in change_set.members if _key(m.repository) == _key(name))


def parse_pull_request_ref(text: str) -> tuple[str, int]:
    """``owner/name#number`` → (``owner/name``, number); ``ValidationFailed`` otherwise."""
    repository, hash_sign, number = text.strip().rpartition("#")
    if not hash_sign or not repository or not number.isdigit() or not 0 < int(number) < 2**31:
        raise ValidationFailed(
            f"{text!r} names no pull request: write OWNER/NAME#NUMBER, e.g. octo/app#12",
            pull_request=text,
        )
    return repository, int(number)


def check_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValidationFailed("A change set needs a title (--title)")
    if len(cleaned) > TITLE_MAX_LENGTH:
        raise ValidationFailed(f"A change set's title is at most {TITLE_MAX_LENGTH} characters")
    return cleaned
