"""``on: gitlab:`` in a pipeline: checked when loaded, matched only by GitLab deliveries."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from orchestrate.pipelines.spec import GitlabEventFilter, PipelineSpec, pipeline_json_schema
from orchestrate.triggers.routing import route
from tests.support import github_event, gitlab_event, gitlab_payload


def spec(on: dict[str, Any]) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {"name": "p", "on": on, "steps": [{"id": "a", "run": "true"}]}
    )


class TestLoading:
    def test_a_gitlab_entry_takes_the_github_keys(self) -> None:
        loaded = spec(
            {
                "gitlab": [
                    {
                        "event": "merge_request",
                        "actions": "opened",
                        "branches-ignore": ["wip/*"],
                        "repositories": ["team/sub/app", "team/**"],
                    }
                ]
            }
        )
        [entry] = loaded.on.gitlab
        assert (entry.actions, entry.branches_ignore) == (["opened"], ["wip/*"])
        assert loaded.on.github == []

    def test_a_header_spelling_is_refused_with_the_kind_to_use(self) -> None:
        with pytest.raises(ValidationError, match="spelled 'merge_request'"):
            GitlabEventFilter(event="Merge Request Hook")

    def test_an_unknown_event_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="unknown GitLab event 'pull_request'"):
            GitlabEventFilter(event="pull_request")

    @pytest.mark.parametrize("entry", ["app", "", "team/"])
    def test_a_repository_that_is_not_a_project_path_is_refused(self, entry: str) -> None:
        with pytest.raises(ValidationError, match="group/project"):
            GitlabEventFilter(event="push", repositories=[entry])

    def test_the_json_schema_lists_on_gitlab(self) -> None:
        schema = pipeline_json_schema()
        assert "gitlab" in schema["$defs"]["TriggersSpec"]["properties"]


class TestRouting:
    MR = {"event": "merge_request", "actions": ["opened"], "branches": ["master"]}

    def test_a_gitlab_delivery_matches_on_gitlab_and_not_on_github(self) -> None:
        event = gitlab_event("merge_request", gitlab_payload("merge_request.open"))
        gitlab_only = spec({"gitlab": [self.MR]}).model_copy(update={"name": "gl"})
        github_only = spec({"github": [self.MR]}).model_copy(update={"name": "gh"})

        verdicts = {
            v.pipeline: v
            for v in route(event, [gitlab_only, github_only], managed=["gitlabhq/gitlab-test"])
        }

        assert verdicts["gl"].matched, verdicts["gl"].reasons
        assert "gh" not in verdicts

    def test_a_github_delivery_ignores_on_gitlab(self) -> None:
        event = github_event("push", {"ref": "refs/heads/main", "repository": {"full_name": "a/b"}})
        pipeline = spec({"gitlab": [{"event": "push"}]})

        assert route(event, [pipeline], managed=["a/b"]) == []

    def test_an_unregistered_project_needs_repositories(self) -> None:
        event = gitlab_event("merge_request", gitlab_payload("merge_request.open"))

        [verdict] = route(event, [spec({"gitlab": [self.MR]})], managed=[])

        assert not verdict.matched
        assert "on.gitlab[0]" in verdict.reasons[0]

    def test_nested_groups_match_double_star_patterns(self) -> None:
        payload = gitlab_payload("push")
        payload["project"]["path_with_namespace"] = "team/backend/api"
        event = gitlab_event("push", payload)
        one_level = spec({"gitlab": [{"event": "push", "repositories": ["team/*"]}]})
        any_depth = spec({"gitlab": [{"event": "push", "repositories": ["team/**"]}]})

        assert not route(event, [one_level])[0].matched
        assert route(event, [any_depth])[0].matched

    def test_a_fork_merge_request_does_not_match_by_default(self) -> None:
        event = gitlab_event("merge_request", gitlab_payload("merge_request.open.from-fork"))
        pipeline = spec({"gitlab": [{**self.MR, "repositories": ["gitlabhq/gitlab-test"]}]})

        [verdict] = route(event, [pipeline])

        assert not verdict.matched
        assert any("fork" in reason for reason in verdict.reasons)

    def test_paths_filter_a_push_by_its_changed_files(self) -> None:
        event = gitlab_event("push", gitlab_payload("push"))
        docs_only = spec({"gitlab": [{"event": "push", "paths": ["docs/**"]}]})
        app = spec({"gitlab": [{"event": "push", "paths": ["app/**"]}]})

        assert not route(event, [docs_only], managed=["mike/diaspora"])[0].matched
        assert route(event, [app], managed=["mike/diaspora"])[0].matched
