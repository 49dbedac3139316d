"""Request and response models of ``/api/pull-requests``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.delivery.models import (
    ChecksSummary,
    PullRequest,
    PullRequestView,
    ReviewsSummary,
    ShepherdMove,
    ShepherdStatus,
)


class PullRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=100, description="A completed agent run.")
    draft: bool | None = Field(
        default=None, description="Open as a draft; null: the setting ORCHESTRATE_PR_DRAFT."
    )


class PullRequestMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str | None = Field(
        default=None,
        pattern="^(merge|squash|rebase)$",
        description="Replaces the repository's merge policy's method for this merge; "
        "null: the policy's.",
    )


class ShepherdOut(BaseModel):
    state: str = Field(description="active, stopped (at a bound: a person must look) or done.")
    move: str | None = Field(
        description="Its last move: wait, fix_review, fix_checks, resolve_conflicts, "
        "update_branch, merge, stop, done (null: it has not looked yet)."
    )
    reason: str | None = Field(description="Why, in words.")
    moved_at: datetime | None

    @classmethod
    def of(cls, status: ShepherdStatus) -> ShepherdOut:
        return cls(
            state=status.state.value,
            move=status.move,
            reason=status.reason,
            moved_at=status.moved_at,
        )


class ShepherdMoveOut(BaseModel):
    id: str
    kind: str
    head_sha: str = Field(description="The head commit the move was made on.")
    status: str = Field(description="started, done, no_change, failed or interrupted.")
    reason: str
    agent_id: str | None = Field(description="The fixer, for moves that start one.")
    cost_usd: Decimal
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, move: ShepherdMove) -> ShepherdMoveOut:
        return cls(
            id=move.id,
            kind=move.kind,
            head_sha=move.head_sha,
            status=move.status.value,
            reason=move.reason,
            agent_id=move.agent_id,
            cost_usd=move.cost_usd,
            started_at=move.started_at,
            finished_at=move.finished_at,
        )


class ShepherdMovesOut(BaseModel):
    """A pull request's moves: bounded by the shepherd's attempts, so never paged."""

    repository: str
    number: int
    moves: list[ShepherdMoveOut] = Field(description="Oldest first.")


class PullRequestOut(BaseModel):
    number: int
    url: str
    repository: str = Field(examples=["octo/app"])
    forge: str
    branch: str
    base: str
    head_sha: str
    state: str = Field(description="open, closed or merged.")
    draft: bool
    title: str
    story_id: str | None
    agent_id: str | None
    opened_at: datetime
    updated_at: datetime
    merged_at: datetime | None
    shepherd: ShepherdOut

    @classmethod
    def of(cls, pull_request: PullRequest) -> PullRequestOut:
        return cls(
            number=pull_request.number,
            url=pull_request.url,
            repository=pull_request.repository,
            forge=pull_request.forge,
            branch=pull_request.branch,
            base=pull_request.base,
            head_sha=pull_request.head_sha,
            state=pull_request.state.value,
            draft=pull_request.draft,
            title=pull_request.title,
            story_id=pull_request.story_id,
            agent_id=pull_request.agent_id,
            opened_at=pull_request.opened_at,
            updated_at=pull_request.updated_at,
            merged_at=pull_request.merged_at,
            shepherd=ShepherdOut.of(pull_request.shepherd),
        )


class ChecksOut(BaseModel):
    total: int
    pending: int
    succeeded: int
    failed: int
    failing: list[str]

    @classmethod
    def of(cls, checks: ChecksSummary) -> ChecksOut:
        return cls(
            total=checks.total,
            pending=checks.pending,
            succeeded=checks.succeeded,
            failed=checks.failed,
            failing=list(checks.failing),
        )


class ReviewsOut(BaseModel):
    approved: int
    changes_requested: int
    commented: int
    approvers: list[str]

    @classmethod
    def of(cls, reviews: ReviewsSummary) -> ReviewsOut:
        return cls(
            approved=reviews.approved,
            changes_requested=reviews.changes_requested,
            commented=reviews.commented,
            approvers=list(reviews.approvers),
        )


class PullRequestDetailOut(PullRequestOut):
    fresh: bool = Field(description="Refreshed from the forge now; false: as last recorded.")
    stale_reason: str | None = Field(description="Why the forge could not be asked.")
    mergeable: bool | None = Field(description="null: unknown or still being computed.")
    checks: ChecksOut
    reviews: ReviewsOut

    @classmethod
    def of_view(cls, view: PullRequestView) -> PullRequestDetailOut:
        base = PullRequestOut.of(view.pull_request).model_dump()
        return cls(
            **base,
            fresh=view.is_fresh,
            stale_reason=view.stale_reason,
            mergeable=view.mergeable,
            checks=ChecksOut.of(view.checks),
            reviews=ReviewsOut.of(view.reviews),
        )


class SecurityFixIn(BaseModel):
    """Start the security-scanner agent on a finding."""

    model_config = ConfigDict(extra="forbid")

    repository: str | None = Field(
        default=None,
        max_length=200,
        description="The registered repository to fix it in (default: the one scanned).",
    )
    agent_type: str = Field(default="security-scanner", min_length=1, max_length=100)
    max_cost_usd: Decimal | None = Field(default=None, gt=0, le=10_000)


class SecurityFixOut(BaseModel):
    finding_id: int
    rule_id: str
    agent_id: str
