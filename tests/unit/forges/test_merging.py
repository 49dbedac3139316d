"""The merge decision as a table: policy + what the forge reports → ready, waiting, blocked."""

from __future__ import annotations

from dataclasses import replace
from itertools import count

import pytest

from orchestrate.forges.client import (
    Check,
    CheckState,
    PullRequestInfo,
    PullRequestState,
    Review,
    ReviewVerdict,
)
from orchestrate.forges.merging import (
    MergeDecision,
    MergeFacts,
    ReasonKind,
    Verdict,
    decide_merge,
)
from orchestrate.forges.models import Person
from orchestrate.forges.trust import review_trust
from orchestrate.repositories.service import MergePolicy

HEAD = "a" * 40
OLD = "b" * 40
TRUSTED = ["OWNER", "MEMBER", "COLLABORATOR"]
GITHUB = review_trust("github", TRUSTED)
_ids = count(1)


def pull(**changes: object) -> PullRequestInfo:
    base = PullRequestInfo(
        repository="octo/app",
        number=7,
        url="https://github.test/octo/app/pull/7",
        title="Add the widget",
        body="",
        state=PullRequestState.OPEN,
        draft=False,
        head_branch="feature",
        head_sha=HEAD,
        base_branch="main",
        author=Person("author", "MEMBER"),
        mergeable=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def review(
    login: str,
    verdict: ReviewVerdict = ReviewVerdict.APPROVED,
    *,
    sha: str | None = HEAD,
    association: str | None = "MEMBER",
) -> Review:
    return Review(str(next(_ids)), verdict, "", Person(login, association), sha, "")


def check(name: str, state: CheckState = CheckState.SUCCESS) -> Check:
    return Check(name, state, None, None)


def decide(
    *,
    policy: MergePolicy | None = None,
    pr: PullRequestInfo | None = None,
    reviews: list[Review] | None = None,
    checks: list[Check] | None = None,
    behind: int | None = None,
    automatic: bool = False,
) -> MergeDecision:
    facts = MergeFacts(
        pr or pull(),
        [review("mona")] if reviews is None else reviews,
        [check("test")] if checks is None else checks,
        behind,
    )
    return decide_merge(policy or MergePolicy(), facts, GITHUB, automatic=automatic)


def kinds(decision: MergeDecision) -> list[ReasonKind]:
    return [reason.kind for reason in decision.reasons]


class TestReady:
    def test_one_trusted_approval_and_green_checks_is_ready_by_default(self) -> None:
        decision = decide()
        assert decision.verdict is Verdict.READY
        assert decision.reasons == ()
        assert decision.approved_by == ("mona",)

    def test_no_approval_needed_and_no_check_reported_is_ready(self) -> None:
        decision = decide(policy=MergePolicy(required_approvals=0), reviews=[], checks=[])
        assert decision.verdict is Verdict.READY

    def test_a_neutral_or_skipped_required_check_passes_as_on_github(self) -> None:
        policy = MergePolicy(required_checks=("test", "docs"))
        decision = decide(policy=policy, checks=[check("test"), check("docs", CheckState.NEUTRAL)])
        assert decision.verdict is Verdict.READY


class TestState:
    @pytest.mark.parametrize(
        ("changes", "kind"),
        [
            ({"state": PullRequestState.CLOSED}, ReasonKind.CLOSED),
            ({"state": PullRequestState.MERGED}, ReasonKind.MERGED),
            ({"draft": True}, ReasonKind.DRAFT),
            ({"mergeable": False}, ReasonKind.CONFLICTS),
        ],
    )
    def test_closed_merged_draft_and_conflicting_pull_requests_are_blocked(
        self, changes: dict[str, object], kind: ReasonKind
    ) -> None:
        decision = decide(pr=pull(**changes))
        assert decision.verdict is Verdict.BLOCKED
        assert kinds(decision) == [kind]

    def test_conflicts_name_the_base_branch(self) -> None:
        decision = decide(pr=pull(mergeable=False, base_branch="develop"))
        assert decision.reasons[0].message == "it conflicts with develop"

    def test_mergeability_still_being_computed_is_waiting(self) -> None:
        decision = decide(pr=pull(mergeable=None))
        assert decision.verdict is Verdict.WAITING
        assert kinds(decision) == [ReasonKind.MERGEABILITY_UNKNOWN]

    def test_a_draft_with_conflicts_gives_both_reasons(self) -> None:
        decision = decide(pr=pull(draft=True, mergeable=False))
        assert set(kinds(decision)) == {ReasonKind.DRAFT, ReasonKind.CONFLICTS}


class TestApprovals:
    def test_missing_approvals_are_waiting_with_the_count(self) -> None:
        decision = decide(policy=MergePolicy(required_approvals=2))
        assert decision.verdict is Verdict.WAITING
        assert decision.reasons[0].kind is ReasonKind.APPROVALS_MISSING
        assert decision.reasons[0].message == "1 approval(s) of 2 required"

    def test_two_approvals_by_the_same_reviewer_count_once(self) -> None:
        decision = decide(
            policy=MergePolicy(required_approvals=2), reviews=[review("mona"), review("mona")]
        )
        assert decision.verdict is Verdict.WAITING
        assert decision.approved_by == ("mona",)

    def test_logins_compare_case_insensitively(self) -> None:
        decision = decide(
            policy=MergePolicy(required_approvals=2), reviews=[review("Mona"), review("mona")]
        )
        assert decision.approved_by == ("mona",)

    def test_an_untrusted_reviewers_approval_does_not_count_and_is_noted(self) -> None:
        decision = decide(reviews=[review("stranger", association="NONE")])
        assert decision.verdict is Verdict.WAITING
        assert decision.approved_by == ()
        assert "@stranger's review does not count: not a trusted reviewer" in decision.notes

    def test_a_review_without_an_association_is_untrusted(self) -> None:
        decision = decide(reviews=[review("ghost", association=None)])
        assert kinds(decision) == [ReasonKind.APPROVALS_MISSING]

    def test_the_authors_own_approval_does_not_count(self) -> None:
        decision = decide(reviews=[review("author")])
        assert kinds(decision) == [ReasonKind.APPROVALS_MISSING]
        assert any("their own pull request" in note for note in decision.notes)

    def test_a_review_without_a_login_is_ignored(self) -> None:
        decision = decide(reviews=[review("")])
        assert kinds(decision) == [ReasonKind.APPROVALS_MISSING]

    def test_a_stale_approval_counts_by_default(self) -> None:
        decision = decide(reviews=[review("mona", sha=OLD)])
        assert decision.verdict is Verdict.READY

    def test_a_stale_approval_does_not_count_when_the_policy_dismisses_them(self) -> None:
        policy = MergePolicy(count_stale_approvals=False)
        decision = decide(policy=policy, reviews=[review("mona", sha=OLD)])
        assert kinds(decision) == [ReasonKind.APPROVALS_MISSING]
        assert "@mona's approval is of an older commit" in decision.notes

    def test_an_approval_naming_no_commit_counts_as_current(self) -> None:
        policy = MergePolicy(count_stale_approvals=False)
        decision = decide(policy=policy, reviews=[review("mona", sha=None)])
        assert decision.verdict is Verdict.READY

    def test_a_dismissed_approval_does_not_count(self) -> None:
        reviews = [review("mona"), review("mona", ReviewVerdict.DISMISSED)]
        decision = decide(reviews=reviews)
        assert kinds(decision) == [ReasonKind.APPROVALS_MISSING]

    def test_a_comment_after_an_approval_leaves_the_approval_standing(self) -> None:
        reviews = [review("mona"), review("mona", ReviewVerdict.COMMENTED)]
        assert decide(reviews=reviews).verdict is Verdict.READY

    def test_zero_required_approvals_needs_none(self) -> None:
        decision = decide(policy=MergePolicy(required_approvals=0), reviews=[])
        assert decision.verdict is Verdict.READY


class TestChangesRequested:
    def test_changes_requested_by_a_trusted_reviewer_block_naming_them(self) -> None:
        reviews = [review("mona"), review("hubot", ReviewVerdict.CHANGES_REQUESTED)]
        decision = decide(reviews=reviews)
        assert decision.verdict is Verdict.BLOCKED
        assert decision.blocked_by[0].message == "changes requested by @hubot"
        assert decision.blocked_by[0].subjects == ("hubot",)

    def test_changes_requested_on_an_older_head_still_block(self) -> None:
        reviews = [review("mona"), review("hubot", ReviewVerdict.CHANGES_REQUESTED, sha=OLD)]
        assert decide(reviews=reviews).verdict is Verdict.BLOCKED

    def test_the_same_reviewer_approving_afterwards_lifts_the_block(self) -> None:
        reviews = [review("mona", ReviewVerdict.CHANGES_REQUESTED), review("mona")]
        assert decide(reviews=reviews).verdict is Verdict.READY

    def test_a_dismissed_change_request_no_longer_blocks(self) -> None:
        reviews = [
            review("mona"),
            review("hubot", ReviewVerdict.CHANGES_REQUESTED),
            review("hubot", ReviewVerdict.DISMISSED),
        ]
        assert decide(reviews=reviews).verdict is Verdict.READY

    def test_a_comment_after_a_change_request_does_not_lift_it(self) -> None:
        reviews = [
            review("mona"),
            review("hubot", ReviewVerdict.CHANGES_REQUESTED),
            review("hubot", ReviewVerdict.COMMENTED),
        ]
        assert decide(reviews=reviews).verdict is Verdict.BLOCKED

    def test_an_approval_then_a_change_request_blocks(self) -> None:
        reviews = [review("mona"), review("mona", ReviewVerdict.CHANGES_REQUESTED)]
        decision = decide(reviews=reviews)
        assert set(kinds(decision)) == {
            ReasonKind.CHANGES_REQUESTED,
            ReasonKind.APPROVALS_MISSING,
        }
        assert decision.blocked_by[0].kind is ReasonKind.CHANGES_REQUESTED  # blockers first

    def test_an_untrusted_change_request_does_not_block(self) -> None:
        reviews = [
            review("mona"),
            review("troll", ReviewVerdict.CHANGES_REQUESTED, association="NONE"),
        ]
        assert decide(reviews=reviews).verdict is Verdict.READY


class TestChecks:
    def test_a_failed_check_blocks_when_every_check_must_pass(self) -> None:
        decision = decide(checks=[check("test"), check("lint", CheckState.FAILURE)])
        assert decision.verdict is Verdict.BLOCKED
        assert decision.reasons[0].message == "checks failed: lint"
        assert decision.reasons[0].subjects == ("lint",)

    def test_a_cancelled_check_blocks_and_says_so(self) -> None:
        decision = decide(checks=[check("test", CheckState.CANCELLED)])
        assert decision.reasons[0].message == "checks failed: test (cancelled)"

    def test_pending_checks_are_waiting_and_named(self) -> None:
        checks = [check("test", CheckState.PENDING), check("lint", CheckState.PENDING)]
        decision = decide(checks=checks)
        assert decision.verdict is Verdict.WAITING
        assert decision.reasons[0].message == "checks pending: test, lint"

    def test_a_required_check_not_reported_yet_is_pending(self) -> None:
        decision = decide(policy=MergePolicy(required_checks=("test", "e2e")))
        assert kinds(decision) == [ReasonKind.CHECKS_PENDING]
        assert decision.reasons[0].message == "checks pending: e2e (not reported)"

    def test_a_failing_check_that_is_not_required_is_only_noted(self) -> None:
        policy = MergePolicy(required_checks=("test",))
        decision = decide(policy=policy, checks=[check("test"), check("flaky", CheckState.FAILURE)])
        assert decision.verdict is Verdict.READY
        assert decision.notes == ("checks not required failed: flaky",)

    def test_a_failed_required_check_blocks(self) -> None:
        policy = MergePolicy(required_checks=("test",))
        decision = decide(policy=policy, checks=[check("test", CheckState.FAILURE)])
        assert decision.verdict is Verdict.BLOCKED

    def test_the_worst_of_several_checks_of_one_name_counts(self) -> None:
        checks = [check("test"), check("test", CheckState.FAILURE)]
        assert decide(checks=checks).verdict is Verdict.BLOCKED

    def test_a_failure_blocks_even_while_other_checks_are_pending(self) -> None:
        checks = [check("test", CheckState.FAILURE), check("lint", CheckState.PENDING)]
        decision = decide(checks=checks)
        assert decision.verdict is Verdict.BLOCKED
        assert kinds(decision) == [ReasonKind.CHECKS_FAILED, ReasonKind.CHECKS_PENDING]
        assert [r.kind for r in decision.waiting_for] == [ReasonKind.CHECKS_PENDING]


class TestUpToDate:
    def test_behind_base_with_up_to_date_required_waits_and_asks_for_an_update(self) -> None:
        decision = decide(policy=MergePolicy(require_up_to_date=True), behind=3)
        assert decision.verdict is Verdict.WAITING
        assert decision.needs_branch_update
        assert decision.reasons[0].message == "the branch is 3 commit(s) behind main"

    def test_behind_base_does_not_matter_when_the_policy_does_not_require_it(self) -> None:
        decision = decide(behind=3)
        assert decision.verdict is Verdict.READY
        assert not decision.needs_branch_update

    def test_a_blocked_pull_request_is_not_updated(self) -> None:
        policy = MergePolicy(require_up_to_date=True)
        decision = decide(policy=policy, behind=1, checks=[check("test", CheckState.FAILURE)])
        assert decision.verdict is Verdict.BLOCKED
        assert not decision.needs_branch_update

    def test_up_to_date_is_ready(self) -> None:
        decision = decide(policy=MergePolicy(require_up_to_date=True), behind=0)
        assert decision.verdict is Verdict.READY


class TestAutoMerge:
    def test_an_automatic_merge_waits_when_auto_merge_is_off(self) -> None:
        decision = decide(automatic=True)
        assert decision.verdict is Verdict.WAITING
        assert kinds(decision) == [ReasonKind.AUTO_MERGE_OFF]

    def test_an_automatic_merge_is_ready_when_auto_merge_is_on(self) -> None:
        decision = decide(policy=MergePolicy(auto_merge=True), automatic=True)
        assert decision.verdict is Verdict.READY


class TestGitLabTrust:
    def test_only_approvals_gitlab_records_count_not_a_notes_marker(self) -> None:
        trust = review_trust("gitlab", TRUSTED)
        recorded = Review("approval:mona", ReviewVerdict.APPROVED, "", Person("mona"), None, "")
        marked = Review("123", ReviewVerdict.APPROVED, "", Person("stranger"), HEAD, "")
        assert trust(recorded)
        assert not trust(marked)

    def test_an_unknown_forge_trusts_no_review(self) -> None:
        assert not review_trust("bitbucket", TRUSTED)(review("mona"))
