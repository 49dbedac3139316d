"""The merge order of a change set's repositories, what each member waits for, the
comment its pull requests get, and the state machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrate.changesets.models import (
    ChangeSet,
    ChangeSetState,
    Member,
    MemberState,
    check_transition,
    comment_marker,
    member_statuses,
    merge_order,
    parse_pull_request_ref,
    ready_to_merge,
    sibling_note,
)
from orchestrate.core.errors import InvalidTransition, ValidationFailed

AT = datetime(2026, 12, 6, tzinfo=UTC)


class TestMergeOrder:
    def test_dependencies_come_first(self) -> None:
        order = merge_order(["octo/app", "octo/lib"], [("octo/app", "octo/lib")])

        assert order.order == ("octo/lib", "octo/app")
        assert order.depends_on == {"octo/app": ("octo/lib",), "octo/lib": ()}

    def test_independent_repositories_are_ordered_by_name(self) -> None:
        order = merge_order(["octo/zeta", "octo/Alpha", "octo/mid"], [])

        assert order.order == ("octo/Alpha", "octo/mid", "octo/zeta")

    def test_a_dependency_through_a_repository_outside_the_set_counts(self) -> None:
        edges = [("octo/app", "octo/middle"), ("octo/middle", "octo/lib")]

        order = merge_order(["octo/app", "octo/lib"], edges)

        assert order.order == ("octo/lib", "octo/app")
        assert order.depends_on["octo/app"] == ("octo/lib",)

    def test_a_chain_and_a_diamond_keep_every_dependency_before_its_dependents(self) -> None:
        edges = [
            ("octo/web", "octo/api"),
            ("octo/web", "octo/ui"),
            ("octo/api", "octo/core"),
            ("octo/ui", "octo/core"),
        ]

        order = merge_order(["octo/web", "octo/ui", "octo/core", "octo/api"], edges)

        assert order.order == ("octo/core", "octo/api", "octo/ui", "octo/web")
        assert order.depends_on["octo/web"] == ("octo/api", "octo/core", "octo/ui")

    def test_names_match_whatever_their_case(self) -> None:
        order = merge_order(["Octo/App", "octo/lib"], [("octo/app", "OCTO/LIB")])

        assert order.order == ("octo/lib", "Octo/App")

    def test_repositories_that_depend_on_each_other_are_refused(self) -> None:
        edges = [("octo/a", "octo/b"), ("octo/b", "octo/x"), ("octo/x", "octo/a")]

        with pytest.raises(ValidationFailed, match="depend on each other"):
            merge_order(["octo/a", "octo/b"], edges)

    def test_a_cycle_outside_the_set_does_not_matter(self) -> None:
        edges = [("octo/x", "octo/y"), ("octo/y", "octo/x"), ("octo/app", "octo/lib")]

        assert merge_order(["octo/app", "octo/lib"], edges).order == ("octo/lib", "octo/app")


def member(
    position: int,
    repository: str,
    *,
    depends_on: tuple[str, ...] = (),
    state: MemberState = MemberState.OPEN,
    number: int | None = None,
    note: str | None = None,
) -> Member:
    return Member(
        position=position,
        repository=repository,
        agent_id=None,
        depends_on=depends_on,
        state=state,
        pr_number=number if number is not None else position + 1,
        pr_url=None,
        note=note,
    )


def change_set(*members: Member, state: ChangeSetState = ChangeSetState.MERGING) -> ChangeSet:
    return ChangeSet(
        id="cs_1",
        title="Rename  the\tthing",
        description="",
        state=state,
        created_by="cli:me",
        created_at=AT,
        updated_at=AT,
        members=members,
    )


class TestReadyToMerge:
    def test_only_members_whose_dependencies_merged_are_ready(self) -> None:
        lib = member(0, "octo/lib")
        app = member(1, "octo/app", depends_on=("octo/lib",))
        tool = member(2, "octo/tool")

        assert ready_to_merge([lib, app, tool]) == [lib, tool]

    def test_a_dependent_is_ready_once_its_dependency_merged(self) -> None:
        lib = member(0, "octo/lib", state=MemberState.MERGED)
        app = member(1, "octo/app", depends_on=("octo/lib",))

        assert ready_to_merge([lib, app]) == [app]


class TestStatuses:
    def test_each_member_says_what_it_waits_for(self) -> None:
        lib = member(0, "octo/lib", number=3, note="octo/lib#3 is waiting: 1 approval missing.")
        app = member(1, "octo/app", depends_on=("octo/lib",), number=7)

        statuses = member_statuses(change_set(lib, app))

        assert [s.waiting_for for s in statuses] == [
            "octo/lib#3 is waiting: 1 approval missing.",
            "octo/lib#3 to merge first",
        ]

    def test_a_merged_member_waits_for_nothing_and_a_pending_one_for_its_pull_request(
        self,
    ) -> None:
        lib = member(0, "octo/lib", state=MemberState.MERGED)
        app = Member(1, "octo/app", "agent_1", ("octo/lib",), MemberState.PENDING)

        statuses = member_statuses(change_set(lib, app, state=ChangeSetState.OPEN))

        assert [s.waiting_for for s in statuses] == [None, "its pull request to be opened"]


class TestComment:
    def test_the_comment_names_the_set_its_siblings_in_order_and_what_it_merges_after(
        self,
    ) -> None:
        lib = member(0, "octo/lib", number=3)
        app = member(1, "octo/app", depends_on=("octo/lib",), number=7)
        both = change_set(lib, app)

        note = sibling_note(both, app)

        assert note.startswith(comment_marker("cs_1"))
        assert "change set `cs_1` (Rename the thing)" in note
        assert "1. octo/lib#3\n2. octo/app#7 ← this one" in note
        assert "It merges after octo/lib#3." in note
        assert "it merges first" in sibling_note(both, lib)


def test_a_pull_request_is_named_owner_name_hash_number() -> None:
    assert parse_pull_request_ref(" octo/app#12 ") == ("octo/app", 12)
    for bad in ("octo/app", "octo/app#", "#3", "octo/app#x", "octo/app#0"):
        with pytest.raises(ValidationFailed, match="OWNER/NAME#NUMBER"):
            parse_pull_request_ref(bad)


def test_a_finished_change_set_moves_no_more() -> None:
    check_transition("cs_1", ChangeSetState.OPEN, ChangeSetState.MERGING)
    check_transition("cs_1", ChangeSetState.MERGING, ChangeSetState.MERGED)
    with pytest.raises(InvalidTransition, match="is merged"):
        check_transition("cs_1", ChangeSetState.MERGED, ChangeSetState.FAILED)
    with pytest.raises(InvalidTransition):
        check_transition("cs_1", ChangeSetState.OPEN, ChangeSetState.MERGED)
