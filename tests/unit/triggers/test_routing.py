"""Routing GitHub deliveries to pipelines, over the real webhook payloads.

Cases the real files do not contain (a pull request from a fork, a push of several
files) start from a real payload and change one field; their names say "synthetic".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from orchestrate.forges.service import ForgeEvent
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.triggers.routing import (
    FilterVerdict,
    PipelineVerdict,
    match_filter,
    route,
)
from tests.support import GITHUB_WEBHOOKS, github_event

# One folder per X-GitHub-Event value (see the folder's README.md).
WEBHOOKS = GITHUB_WEBHOOKS
PAYLOAD_FILES = sorted(WEBHOOKS.glob("*/*.json"))
EVENT_NAMES = sorted({path.parent.name for path in PAYLOAD_FILES})


@cache
def _read(relative: str) -> str:
    return (WEBHOOKS / relative).read_text()


def payload(relative: str) -> dict[str, Any]:
    """A fresh copy of a real payload, safe to change for a synthetic case."""
    document: dict[str, Any] = json.loads(_read(relative))
    return document


def delivery(relative: str, data: dict[str, Any] | None = None) -> ForgeEvent:
    """The event of a real file (its folder is the event name), or of changed data."""
    return github_event(relative.split("/")[0], data or payload(relative))


# Every repository the real payloads come from, as if Orchestrate managed them all: the
# tests of the other keys bind filters to repositories the way a configured server does.
MANAGED = (
    "Codertocat/Hello-World",
    "Octocoders/Hello-World",
    "electron/electron",
    "github/hello-world",
    "lineville/elastic-machines-testing",
    "octo-org/octo-repo",
    "wolfy1339/github-events-schemas",
)
MANAGED_MATCH = "(a repository Orchestrate manages)"


def make_pipeline(name: str = "ci", *filters: dict[str, Any]) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {"name": name, "on": {"github": list(filters)}, "steps": [{"id": "go", "run": "true"}]}
    )


def check(delivered: ForgeEvent, /, **keys: Any) -> FilterVerdict:
    """Match one filter given as YAML keys, going through the pipeline model."""
    pipeline = make_pipeline("p", keys)
    return match_filter(delivered, pipeline.on.github[0], managed=MANAGED)


def push_of(files: list[str], ref: str = "refs/heads/main") -> ForgeEvent:
    """Synthetic: the real branch push, with its one commit changing ``files``."""
    data = payload("push/with-new-branch.payload.json")
    data["ref"] = ref
    data["commits"] = [
        {"added": files[:1], "modified": files[1:], "removed": []},
        {"added": [], "modified": [], "removed": files[1:2]},
    ]
    return delivery("push/with-new-branch.payload.json", data)


BRANCH_PUSH = "push/with-new-branch.payload.json"  # refs/heads/master, adds README.md
TAG_PUSH = "push/payload.json"  # refs/tags/simple-tag, no commits
PR_OPENED = "pull_request/opened.payload.json"  # changes -> master, not a draft, label bug


class TestEveryRealPayload:
    def test_the_testdata_folder_holds_the_real_payloads(self) -> None:
        assert len(PAYLOAD_FILES) >= 100
        assert {"push", "pull_request", "issues", "workflow_run"} <= set(EVENT_NAMES)

    @pytest.mark.parametrize(
        "path", PAYLOAD_FILES, ids=lambda path: path.parent.name + "/" + path.name
    )
    def test_every_real_payload_starts_exactly_the_pipeline_for_its_event(self, path: Path) -> None:
        event = github_event(path.parent.name, json.loads(path.read_text()))
        pipelines = [make_pipeline(name, {"event": name, "forks": True}) for name in EVENT_NAMES]

        verdicts = route(event, pipelines, managed=MANAGED)

        # An organisation-level delivery (a ping of an app's hook) names no repository.
        expected = [event.kind] if event.repository is not None else []
        assert [verdict.pipeline for verdict in verdicts if verdict.matched] == expected


class TestPushes:
    def test_a_push_to_a_branch_with_a_matching_path_matches_and_says_where(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", branches="master", paths="*.md")

        assert verdict == FilterVerdict(
            True,
            [f"matched event push on branch 'master' in Codertocat/Hello-World {MANAGED_MATCH}"],
        )

    def test_a_push_whose_files_are_outside_paths_does_not_match_and_lists_the_files(
        self,
    ) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", paths=["src/**"])

        assert verdict == FilterVerdict(
            False, ["no changed file is in paths [src/**] (changed: README.md)"]
        )

    def test_a_push_touching_only_ignored_paths_does_not_match(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", paths_ignore=["**.md"])

        assert verdict.reasons == [
            "every changed file is in paths_ignore [**.md] (changed: README.md)"
        ]

    def test_synthetic_push_matches_paths_ignore_when_one_file_is_not_ignored(self) -> None:
        event = push_of(["docs/a.md", "src/app.py"])

        assert check(event, event="push", paths_ignore=["docs/**"]).matched

    def test_synthetic_push_paths_count_added_modified_and_removed_files(self) -> None:
        event = push_of(["new.txt", "changed.py", "gone.cfg"])

        assert event.changed_paths == ("changed.py", "gone.cfg", "new.txt")
        assert check(event, event="push", paths=["*.cfg"]).matched

    def test_synthetic_push_with_paths_and_paths_ignore_needs_a_file_in_one_and_not_the_other(
        self,
    ) -> None:
        only_tests = push_of(["src/tests/test_a.py"])
        with_code = push_of(["src/tests/test_a.py", "src/a.py"])
        keys = {"event": "push", "paths": ["src/**"], "paths_ignore": ["src/tests/**"]}

        assert check(with_code, **keys).matched
        assert check(only_tests, **keys).reasons == [
            "every changed file in paths is in paths_ignore [src/tests/**] "
            "(changed: src/tests/test_a.py)"
        ]

    def test_synthetic_push_paths_with_a_negation_exclude_a_file(self) -> None:
        keys = {"event": "push", "paths": ["**.md", "!CHANGELOG.md"]}

        assert not check(push_of(["CHANGELOG.md"]), **keys).matched
        assert check(push_of(["CHANGELOG.md", "README.md"]), **keys).matched

    def test_synthetic_push_explanation_shortens_a_long_file_list(self) -> None:
        event = push_of([f"f{number}.txt" for number in range(8)])

        verdict = check(event, event="push", paths="src/**")

        assert verdict.reasons[0].endswith("f3.txt, f4.txt and 3 more)")

    def test_synthetic_push_without_changed_files_does_not_match_a_paths_filter(self) -> None:
        verdict = check(push_of([]), event="push", paths="**")

        assert verdict.reasons == ["the push changes no files, so paths cannot match"]

    def test_a_tag_push_does_not_match_a_filter_naming_only_branches(self) -> None:
        verdict = check(delivery(TAG_PUSH), event="push", branches=["**"])

        assert verdict.reasons == [
            "tag 'simple-tag' was pushed but the filter names only branches (add tags)"
        ]

    def test_a_tag_push_does_not_match_a_filter_naming_only_ignored_branches(self) -> None:
        assert not check(delivery(TAG_PUSH), event="push", branches_ignore=["wip/*"]).matched

    def test_a_tag_push_matches_tags_and_is_described_by_its_tag(self) -> None:
        verdict = check(delivery(TAG_PUSH), event="push", tags=["simple-*"])

        assert verdict.reasons == [
            f"matched event push on tag 'simple-tag' in Codertocat/Hello-World {MANAGED_MATCH}"
        ]

    def test_a_tag_push_outside_tags_does_not_match(self) -> None:
        verdict = check(delivery(TAG_PUSH), event="push", tags=["v[0-9]+.*"])

        assert verdict.reasons == ["tag 'simple-tag' is not in tags [v[0-9]+.*]"]

    def test_a_branch_push_does_not_match_a_filter_naming_only_tags(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", tags=["*"])

        assert verdict.reasons == ["branch 'master' is not a tag, and the filter names only tags"]

    def test_a_filter_naming_branches_and_tags_matches_either_kind_of_push(self) -> None:
        keys = {"event": "push", "branches": ["master"], "tags": ["simple-*"]}

        assert check(delivery(BRANCH_PUSH), **keys).matched
        assert check(delivery(TAG_PUSH), **keys).matched

    def test_a_filter_without_ref_keys_matches_branch_and_tag_pushes(self) -> None:
        assert check(delivery(BRANCH_PUSH), event="push").matched
        assert check(delivery(TAG_PUSH), event="push").matched

    def test_path_filters_are_not_evaluated_for_tag_pushes_as_in_github(self) -> None:
        assert check(delivery(TAG_PUSH), event="push", tags="*", paths="src/**").matched

    def test_a_branch_outside_branches_does_not_match(self) -> None:
        verdict = check(
            push_of(["a"], "refs/heads/feature/x"), event="push", branches=["main", "release/*"]
        )

        assert verdict.reasons == ["branch 'feature/x' is not in branches [main, release/*]"]

    def test_branches_ignore_wins_over_branches_when_both_are_given(self) -> None:
        keys = {"event": "push", "branches": ["**"], "branches_ignore": ["mast*"]}

        assert check(delivery(BRANCH_PUSH), **keys).reasons == [
            "branch 'master' is in branches_ignore [mast*]"
        ]

    def test_branches_with_a_later_negation_exclude_a_branch(self) -> None:
        keys = {"event": "push", "branches": ["releases/**", "!releases/**-alpha"]}

        assert check(push_of(["a"], "refs/heads/releases/2.0"), **keys).matched
        assert not check(push_of(["a"], "refs/heads/releases/beta/3-alpha"), **keys).matched

    def test_branches_of_only_negations_match_nothing_and_say_to_use_branches_ignore(
        self,
    ) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", branches=["!wip/*"])

        assert verdict.reasons == [
            "branch 'master' is not in branches [!wip/*] (a list of only '!' patterns "
            "selects nothing; use branches_ignore)"
        ]

    def test_synthetic_push_to_a_forked_repository_is_refused_unless_forks_is_true(
        self,
    ) -> None:
        data = payload(BRANCH_PUSH)
        data["repository"]["fork"] = True
        event = delivery(BRANCH_PUSH, data)

        assert check(event, event="push").reasons == [
            "the repository Codertocat/Hello-World is a fork (set forks: true to allow)"
        ]
        assert check(event, event="push", forks=True).matched

    def test_a_push_has_no_action_so_an_actions_filter_does_not_match(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", actions="opened")

        assert verdict.reasons == [
            "the push event has no action, but the filter needs one of [opened]"
        ]


class TestPullRequests:
    def test_an_opened_pull_request_matches_its_actions_and_says_which_branches(self) -> None:
        verdict = check(delivery(PR_OPENED), event="pull_request", actions=["opened", "reopened"])

        assert verdict.reasons == [
            "matched event pull_request action opened from branch 'changes' into 'master' "
            f"in Codertocat/Hello-World {MANAGED_MATCH}"
        ]

    def test_a_closed_pull_request_does_not_match_opened_or_reopened(self) -> None:
        event = delivery("pull_request/closed.payload.json")

        verdict = check(event, event="pull_request", actions=["opened", "reopened"])

        assert verdict.reasons == ["action 'closed' is not one of [opened, reopened]"]

    def test_branches_of_a_pull_request_match_its_base_branch_not_its_head(self) -> None:
        event = delivery(PR_OPENED)

        assert check(event, event="pull_request", branches="master").matched
        assert check(event, event="pull_request", branches="changes").reasons == [
            "base branch 'master' is not in branches [changes]"
        ]

    def test_base_branches_match_the_base_branch_of_a_pull_request(self) -> None:
        event = delivery(PR_OPENED)

        assert check(event, event="pull_request", base_branches=["ma*"]).matched
        assert check(event, event="pull_request", base_branches=["main"]).reasons == [
            "base branch 'master' is not in base_branches [main]"
        ]

    def test_base_branches_apply_to_pull_request_reviews_too(self) -> None:
        event = delivery("pull_request_review/submitted.payload.json")

        assert check(event, event="pull_request_review", base_branches="master").matched

    def test_base_branches_do_not_match_an_event_without_a_pull_request(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", base_branches="master")

        assert verdict.reasons == [
            "the push event has no pull request, so base_branches [master] cannot match"
        ]

    def test_synthetic_pull_request_from_a_fork_is_refused_unless_forks_is_true(self) -> None:
        data = payload(PR_OPENED)
        data["pull_request"]["head"]["repo"].update(id=999, full_name="mona/Hello-World", fork=True)
        event = delivery(PR_OPENED, data)

        refused = check(event, event="pull_request", actions="opened")
        allowed = check(event, event="pull_request", actions="opened", forks=True)

        assert refused.reasons == [
            "the pull request comes from a fork (mona/Hello-World) (set forks: true to allow)"
        ]
        assert allowed.matched
        assert allowed.reasons[0].endswith(f"from the fork mona/Hello-World {MANAGED_MATCH}")

    def test_synthetic_pull_request_whose_head_repository_was_deleted_counts_as_a_fork(
        self,
    ) -> None:
        data = payload(PR_OPENED)
        data["pull_request"]["head"]["repo"] = None

        assert delivery(PR_OPENED, data).is_fork

    def test_a_pull_request_from_a_branch_of_the_same_repository_is_not_a_fork(self) -> None:
        assert not delivery(PR_OPENED).is_fork

    def test_a_draft_pull_request_does_not_match_draft_false(self) -> None:
        event = delivery("pull_request/converted_to_draft.payload.json")

        verdict = check(event, event="pull_request", draft=False)

        assert verdict.reasons == ["the pull request is a draft (the filter has draft: false)"]

    def test_a_ready_pull_request_matches_draft_false_and_not_draft_true(self) -> None:
        event = delivery("pull_request/ready_for_review.payload.json")

        assert check(event, event="pull_request", draft=False).matched
        assert check(event, event="pull_request", draft=True).reasons == [
            "the pull request is not a draft (the filter has draft: true)"
        ]

    def test_draft_does_not_match_an_event_without_a_pull_request(self) -> None:
        verdict = check(delivery("issues/opened.payload.json"), event="issues", draft=False)

        assert verdict.reasons == ["the issues event has no pull request, so draft cannot match"]

    def test_a_paths_filter_on_a_pull_request_does_not_match_for_want_of_a_file_list(
        self,
    ) -> None:
        verdict = check(delivery(PR_OPENED), event="pull_request", paths="**")

        assert verdict.reasons == [
            "the pull_request event carries no list of changed files, so paths cannot "
            "match (only push payloads list them)"
        ]

    def test_branches_of_a_workflow_run_match_the_branch_it_ran_on(self) -> None:
        event = delivery("workflow_run/completed.payload.json")

        assert check(event, event="workflow_run", branches="master").matched
        assert not check(event, event="workflow_run", branches="main").matched


class TestLabels:
    def test_a_labeled_pull_request_matches_when_the_added_label_is_listed(self) -> None:
        event = delivery("pull_request/labeled.payload.json")

        assert check(event, event="pull_request", actions="labeled", labels="bug").matched

    def test_a_labeled_pull_request_does_not_match_when_the_added_label_is_not_listed(
        self,
    ) -> None:
        event = delivery("pull_request/labeled.payload.json")

        verdict = check(event, event="pull_request", labels=["orchestrate"])

        assert verdict.reasons == ["the added label 'bug' is not in labels [orchestrate]"]

    def test_synthetic_labeled_issue_is_judged_by_the_added_label_not_the_older_ones(
        self,
    ) -> None:
        data = payload("issues/labeled.payload.json")
        data["label"]["name"] = "docs"
        event = delivery("issues/labeled.payload.json", data)

        verdict = check(event, event="issues", labels="bug")

        assert verdict.reasons == ["the added label 'docs' is not in labels [bug]"]

    def test_an_issue_carrying_one_of_the_labels_matches_whatever_their_case(self) -> None:
        assert check(delivery("issues/opened.payload.json"), event="issues", labels="BUG").matched

    def test_a_comment_matches_by_the_labels_of_its_issue(self) -> None:
        event = delivery("issue_comment/created.payload.json")

        assert check(event, event="issue_comment", labels="bug").matched

    def test_an_issue_without_labels_does_not_match_and_says_so(self) -> None:
        verdict = check(delivery("issues/pinned.payload.json"), event="issues", labels="bug")

        assert verdict.reasons == ["the issue's labels [] include none of [bug]"]

    def test_labels_do_not_match_an_event_without_an_issue_or_pull_request(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", labels="bug")

        assert verdict.reasons == [
            "the push event has no issue or pull request, so labels cannot match"
        ]


class TestExplanations:
    def test_another_event_is_explained_by_the_event_alone(self) -> None:
        verdict = check(delivery("issues/opened.payload.json"), event="push", branches="x")

        assert verdict == FilterVerdict(False, ["event 'issues' is not 'push'"])

    def test_every_failing_key_is_explained_not_only_the_first(self) -> None:
        event = delivery("pull_request/converted_to_draft.payload.json")

        verdict = check(event, event="pull_request", actions="opened", branches="main", draft=False)

        assert verdict.reasons == [
            "action 'converted_to_draft' is not one of [opened]",
            "base branch 'master' is not in branches [main]",
            "the pull request is a draft (the filter has draft: false)",
        ]

    def test_a_key_the_event_cannot_answer_is_explained(self) -> None:
        verdict = check(delivery("issues/opened.payload.json"), event="issues", branches="main")

        assert verdict.reasons == ["the issues event has no branch or tag to match branches"]

    def test_an_empty_branches_list_is_named_in_the_explanation(self) -> None:
        verdict = check(delivery("issues/opened.payload.json"), event="issues", branches=[])

        assert verdict.reasons == ["the issues event has no branch or tag to match branches"]

    def test_an_invalid_pattern_does_not_match_and_names_the_pattern(self) -> None:
        verdict = check(delivery(BRANCH_PUSH), event="push", branches=["v[0-9"])

        assert not verdict.matched
        assert verdict.reasons == [
            "Filter pattern 'v[0-9' is invalid at character 2: '[' is never closed with ']'; "
            "fix it in the pipeline's on.github filter"
        ]


class TestRoute:
    def test_route_gives_one_verdict_per_pipeline_with_github_filters_ordered_by_name(
        self,
    ) -> None:
        pipelines = [
            make_pipeline("zeta-review", {"event": "pull_request", "actions": "opened"}),
            make_pipeline("nightly"),
            make_pipeline("alpha-build", {"event": "push"}),
        ]

        verdicts = route(delivery(PR_OPENED), pipelines, managed=MANAGED)

        assert [(verdict.pipeline, verdict.matched) for verdict in verdicts] == [
            ("alpha-build", False),
            ("zeta-review", True),
        ]

    def test_a_pipeline_matches_when_any_filter_matches_and_explains_each_filter(self) -> None:
        pipeline = make_pipeline(
            "ci",
            {"event": "push", "branches": "main"},
            {"event": "pull_request", "actions": ["opened", "synchronize"]},
        )

        verdicts = route(
            delivery("pull_request/synchronize.payload.json"), [pipeline], managed=MANAGED
        )

        assert verdicts == [
            PipelineVerdict(
                pipeline="ci",
                matched=True,
                reasons=[
                    "on.github[0]: event 'pull_request' is not 'push'",
                    "on.github[1]: matched event pull_request action synchronize from branch "
                    f"'changes' into 'master' in Codertocat/Hello-World {MANAGED_MATCH}",
                ],
            )
        ]

    def test_a_pipeline_whose_filters_all_fail_does_not_match(self) -> None:
        pipeline = make_pipeline("ci", {"event": "push", "branches": "main"})

        (verdict,) = route(delivery(BRANCH_PUSH), [pipeline], managed=MANAGED)

        assert not verdict.matched
        assert verdict.reasons == ["on.github[0]: branch 'master' is not in branches [main]"]
