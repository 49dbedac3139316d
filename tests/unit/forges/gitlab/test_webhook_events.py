"""GitLab's documented webhook payloads read into forge-neutral events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrate.forges.gitlab.events import kind_of
from orchestrate.forges.gitlab.webhooks import delivery_id, parse_delivery, storable_headers
from orchestrate.forges.models import MalformedDelivery
from tests.support import GITLAB_WEBHOOKS, gitlab_event, gitlab_payload


class TestKinds:
    @pytest.mark.parametrize(
        ("header", "kind"),
        [
            ("Merge Request Hook", "merge_request"),
            ("Note Hook", "note"),
            ("Pipeline Hook", "pipeline"),
            ("Push Hook", "push"),
            ("Tag Push Hook", "tag_push"),
            ("Issue Hook", "issue"),
            ("Job Hook", "job"),
            ("Confidential Issue Hook", "confidential_issue"),
        ],
    )
    def test_the_event_header_names_the_kind(self, header: str, kind: str) -> None:
        assert kind_of(header, {}) == kind

    def test_a_system_hook_is_named_by_its_object_kind(self) -> None:
        assert kind_of("System Hook", {"object_kind": "merge_request"}) == "merge_request"
        assert kind_of("System Hook", {"object_kind": "build"}) == "job"

    def test_an_unknown_header_becomes_a_plain_name(self) -> None:
        assert kind_of("Emoji Hook", {}) == "emoji"
        assert kind_of("$$$ Weird <b>", {}) == "weird_b"


class TestMergeRequests:
    def test_an_opened_merge_request_carries_its_branches_sha_and_labels(self) -> None:
        event = gitlab_event("merge_request", gitlab_payload("merge_request.open"))
        assert (event.forge, event.kind, event.action) == ("gitlab", "merge_request", "opened")
        assert event.repository == "gitlabhq/gitlab-test"
        assert event.sender == "root"
        pull_request = event.pull_request
        assert pull_request is not None
        assert pull_request.number == 1
        assert pull_request.head_branch == "ms-viewport"
        assert pull_request.base_branch == "master"
        assert pull_request.head_sha == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        assert pull_request.draft is False
        assert event.branch == "master"
        assert event.head_branch == "ms-viewport"
        assert event.labels == ("API",)
        assert event.fork_repository is None

    def test_the_author_is_known_only_when_they_are_who_acted(self) -> None:
        by_someone = gitlab_event("merge_request", gitlab_payload("merge_request.open"))
        by_author = gitlab_event(
            "merge_request", gitlab_payload("merge_request.open.draft-by-author")
        )
        assert by_someone.pull_request is not None
        assert by_author.pull_request is not None
        assert by_someone.pull_request.author.login is None
        assert by_author.pull_request.author.login == "root"
        assert by_author.is_draft is True

    @pytest.mark.parametrize(
        ("name", "action"),
        [
            ("merge_request.update", "updated"),
            ("merge_request.merge", "merged"),
            ("merge_request.close", "closed"),
            ("merge_request.approved", "approved"),
        ],
    )
    def test_actions_read_in_the_past_tense(self, name: str, action: str) -> None:
        assert gitlab_event("merge_request", gitlab_payload(name)).action == action

    def test_a_merge_request_from_another_project_is_from_a_fork(self) -> None:
        event = gitlab_event("merge_request", gitlab_payload("merge_request.open.from-fork"))
        assert event.fork_repository == "stranger/awesome_project"
        assert event.head_branch is None


class TestNotes:
    def test_a_diff_note_is_a_review_thread_comment(self) -> None:
        event = gitlab_event("note", gitlab_payload("note.merge_request.diff_note"))
        assert event.action == "created"
        review = event.review
        assert review is not None
        assert review.id == "6a9c1750b37d513a43987b574953fceb50b03ce7"
        assert review.body == "Please handle the nil case here."
        assert review.author.login == "root"
        assert event.pull_request is not None
        assert event.pull_request.number == 1
        assert event.labels == ("Afterpod", "Element")

    def test_a_plain_comment_on_a_merge_request_is_no_review(self) -> None:
        event = gitlab_event("note", gitlab_payload("note.merge_request"))
        assert event.review is None
        assert event.pull_request is not None

    def test_a_comment_on_an_issue_names_the_issue(self) -> None:
        event = gitlab_event("note", gitlab_payload("note.issue"))
        assert event.issue is not None
        assert event.issue.number == 17
        assert event.pull_request is None


class TestPipelinesAndJobs:
    def test_a_succeeded_pipeline_is_a_completed_check(self) -> None:
        event = gitlab_event("pipeline", gitlab_payload("pipeline.success"))
        assert event.action == "completed"
        assert event.check is not None
        assert event.check.conclusion == "success"
        assert event.check.head_sha == "bcbb5ec396a2c0f828686f14fac9b80b780504f2"
        assert event.check.url.endswith("/-/pipelines/31")
        assert (event.ref, event.branch, event.head_branch) == (
            "refs/heads/master",
            "master",
            "master",
        )

    def test_a_failed_pipeline_concludes_failure(self) -> None:
        event = gitlab_event("pipeline", gitlab_payload("pipeline.failed"))
        assert event.check is not None
        assert event.check.conclusion == "failure"

    def test_a_running_pipeline_has_no_check_yet(self) -> None:
        event = gitlab_event("pipeline", gitlab_payload("pipeline.running"))
        assert event.action == "running"
        assert event.check is None

    def test_a_merge_request_pipeline_runs_for_its_source_branch(self) -> None:
        event = gitlab_event("pipeline", gitlab_payload("pipeline.failed.merge_request"))
        assert event.head_branch == "test"
        assert event.fork_repository is None

    def test_a_fork_merge_request_pipeline_names_no_branch(self) -> None:
        event = gitlab_event("pipeline", gitlab_payload("pipeline.failed.from-fork"))
        assert event.fork_repository is not None
        assert event.head_branch is None

    def test_a_failed_job_is_a_check_named_after_the_job(self) -> None:
        event = gitlab_event("job", gitlab_payload("job.failed"))
        assert event.action == "completed"
        assert event.check is not None
        assert (event.check.name, event.check.conclusion) == ("test", "failure")
        assert event.branch == "gitlab-script-trigger"


class TestPushesAndIssues:
    def test_a_push_lists_its_branch_and_changed_paths(self) -> None:
        event = gitlab_event("push", gitlab_payload("push"))
        assert event.branch == "master"
        assert event.sender == "jsmith"
        assert event.repository == "mike/diaspora"
        assert event.changed_paths == ("CHANGELOG", "app/controller/application.rb")

    def test_a_tag_push_names_the_tag(self) -> None:
        event = gitlab_event("tag_push", gitlab_payload("tag_push"))
        assert (event.tag, event.branch) == ("v1.0.0", None)

    def test_an_opened_issue_is_an_issue_with_its_text(self) -> None:
        event = gitlab_event("issue", gitlab_payload("issue.open"))
        assert event.action == "opened"
        assert event.issue is not None
        assert (event.issue.number, event.issue.title) == (23, "New API: create/update/delete file")
        assert event.issue.body == "Create new API for manipulations with repository"
        assert event.labels == ("API",)

    def test_an_update_adding_labels_is_labelled_with_the_added_label(self) -> None:
        event = gitlab_event("issue", gitlab_payload("issue.update.labelled"))
        assert event.action == "labeled"
        assert event.added_label == "orchestrate"


class TestHostilePayloads:
    @pytest.mark.parametrize("path", sorted(GITLAB_WEBHOOKS.glob("*.json")), ids=lambda p: p.stem)
    def test_every_example_parses(self, path: Any) -> None:
        payload = json.loads(path.read_text())
        kind = kind_of("System Hook", payload)
        assert gitlab_event(kind, payload).forge == "gitlab"

    @given(
        kind=st.sampled_from(["merge_request", "note", "pipeline", "job", "push", "issue"]),
        payload=st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "object_attributes",
                            "action",
                            "labels",
                            "changes",
                            "merge_request",
                            "user",
                            "commits",
                            "ref",
                            "status",
                            "position",
                            "project",
                            "last_commit",
                            "added",
                            "title",
                            "previous",
                            "current",
                        ]
                    ),
                    children,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ),
    )
    def test_odd_fields_never_raise(self, kind: str, payload: Any) -> None:
        if isinstance(payload, dict):
            gitlab_event(kind, payload)


class TestDeliveries:
    def test_the_token_is_never_stored(self) -> None:
        kept = storable_headers(
            {"X-Gitlab-Token": "s3cret", "X-Gitlab-Event": "Push Hook", "Authorization": "x"}
        )
        assert kept == {"X-Gitlab-Event": "Push Hook"}

    def test_the_idempotency_key_is_the_delivery_id(self) -> None:
        headers = {"idempotency-key": "a1b2c3d4-0000-4000-8000-000000000000"}
        assert delivery_id(headers, "Push Hook", b"{}") == headers["idempotency-key"]

    def test_without_a_key_the_same_event_and_body_hash_to_the_same_id(self) -> None:
        headers = {"x-gitlab-event-uuid": "e6b2c7d0-0000-4000-8000-000000000000"}
        first = delivery_id(headers, "Push Hook", b'{"a": 1}')
        assert first == delivery_id(headers, "Push Hook", b'{"a": 1}')
        assert first.startswith("gitlab:")

    def test_two_hooks_of_one_request_share_the_event_uuid_but_not_the_id(self) -> None:
        headers = {"x-gitlab-event-uuid": "e6b2c7d0-0000-4000-8000-000000000000"}
        merge = delivery_id(headers, "Merge Request Hook", b'{"object_kind": "merge_request"}')
        push = delivery_id(headers, "Push Hook", b'{"object_kind": "push"}')
        assert merge != push

    def test_a_missing_event_header_is_malformed(self) -> None:
        with pytest.raises(MalformedDelivery):
            parse_delivery({}, b"{}")

    def test_a_delivery_is_stored_under_its_kind_and_action(self) -> None:
        body = (GITLAB_WEBHOOKS / "merge_request.open.json").read_bytes()
        parsed = parse_delivery({"x-gitlab-event": "Merge Request Hook"}, body)
        assert (parsed.forge, parsed.kind, parsed.action) == ("gitlab", "merge_request", "opened")
        assert parsed.repository == "gitlabhq/gitlab-test"


def test_an_id_that_is_not_a_number_or_text_is_no_id() -> None:
    payload = gitlab_payload("issue.open")
    payload["object_attributes"]["id"] = {"nested": ["x" * 10_000]}

    event = gitlab_event("issue", payload)

    assert event.issue is not None
    assert event.issue.id == ""


def test_path_filters_are_not_evaluated_for_tag_pushes() -> None:
    from orchestrate.pipelines.spec import PipelineSpec
    from orchestrate.triggers.routing import route

    event = gitlab_event("tag_push", gitlab_payload("tag_push"))
    pipeline = PipelineSpec.model_validate(
        {
            "name": "release",
            "on": {"gitlab": [{"event": "tag_push", "tags": ["v*"], "paths": ["src/**"]}]},
            "steps": [{"id": "a", "run": "true"}],
        }
    )

    [verdict] = route(event, [pipeline], managed=["jsmith/example"])

    assert verdict.matched, verdict.reasons
