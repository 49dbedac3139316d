"""Which built-in automations a GitLab delivery asks for, and whom they trust."""

from __future__ import annotations

from pathlib import Path

from orchestrate.core.settings import Settings
from orchestrate.triggers.automation_plans import AutomationKind, plan_automations
from tests.support import gitlab_event, gitlab_payload


def settings(tmp_path: Path, *trusted: str) -> Settings:
    return Settings(home=tmp_path, gitlab_trusted_users=list(trusted))


def test_a_failed_pipeline_started_by_a_trusted_user_plans_a_ci_fixer(tmp_path: Path) -> None:
    event = gitlab_event("pipeline", gitlab_payload("pipeline.failed"))

    [plan] = plan_automations(event, settings(tmp_path, "ROOT"))

    assert plan.kind is AutomationKind.CI_FIXER
    assert (plan.forge, plan.skipped) == ("gitlab", None)
    assert plan.agent is not None
    assert plan.agent.base_ref == "master"
    assert plan.agent.origin_key.startswith("gitlab:check-failure:gitlab-org/gitlab-test:")
    assert "as GitLab named it" in plan.agent.task


def test_nobody_is_trusted_by_default(tmp_path: Path) -> None:
    event = gitlab_event("pipeline", gitlab_payload("pipeline.failed"))

    [plan] = plan_automations(event, settings(tmp_path))

    assert plan.skipped is not None
    assert "ORCHESTRATE_GITLAB_TRUSTED_USERS is empty" in plan.skipped


def test_a_fork_merge_request_pipeline_is_never_fixed(tmp_path: Path) -> None:
    event = gitlab_event("pipeline", gitlab_payload("pipeline.failed.from-fork"))

    [plan] = plan_automations(event, settings(tmp_path, "root"))

    assert plan.skipped is not None
    assert "fork" in plan.skipped


def test_a_succeeded_pipeline_plans_nothing(tmp_path: Path) -> None:
    event = gitlab_event("pipeline", gitlab_payload("pipeline.success"))

    assert plan_automations(event, settings(tmp_path, "root")) == []


def test_an_issue_labelled_by_a_trusted_user_plans_a_story(tmp_path: Path) -> None:
    event = gitlab_event("issue", gitlab_payload("issue.update.labelled"))

    [plan] = plan_automations(event, settings(tmp_path, "root"))

    assert plan.kind is AutomationKind.ISSUE_STORY
    assert plan.skipped is None
    assert plan.story is not None
    assert plan.story.origin_key == "gitlab-issue:301"
    assert plan.story.description.startswith("From GitLab issue http://example.com/diaspora/")


def test_an_issue_opened_by_someone_not_listed_is_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    event = gitlab_event("issue", gitlab_payload("issue.open"))

    [plan] = plan_automations(event, settings(tmp_path, "alice"))

    assert plan.skipped == (
        "GitLab user @root who caused the issue event is not trusted "
        "(ORCHESTRATE_GITLAB_TRUSTED_USERS=alice)"
    )


def test_merge_requests_and_notes_start_no_github_only_automation(tmp_path: Path) -> None:
    trusting = settings(tmp_path, "root")
    for kind, name in (
        ("merge_request", "merge_request.open"),
        ("note", "note.merge_request.diff_note"),
    ):
        assert plan_automations(gitlab_event(kind, gitlab_payload(name)), trusting) == []
