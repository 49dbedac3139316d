"""Pipelines are bound to repositories: ``repositories:`` patterns, or the managed ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.forges.service import ForgeEvent
from orchestrate.pipelines.spec import load_pipeline
from orchestrate.pipelines.spec.models import GithubEventFilter, PipelineSpec
from orchestrate.triggers.routing import match_filter, route
from tests.support import GITHUB_WEBHOOKS, github_event

PR_OPENED = "pull_request/opened.payload.json"  # Codertocat/Hello-World


def opened_in(repository: str) -> ForgeEvent:
    """The real opened pull request, as if delivered by ``repository``."""
    data: dict[str, Any] = json.loads((GITHUB_WEBHOOKS / PR_OPENED).read_text())
    data["repository"]["full_name"] = repository
    return github_event("pull_request", data)


STEPS = [{"id": "go", "run": "true"}]


def bound(repositories: Any = None) -> GithubEventFilter:
    keys: dict[str, Any] = {"event": "pull_request"}
    if repositories is not None:
        keys["repositories"] = repositories
    spec = PipelineSpec.model_validate({"name": "ci", "on": {"github": [keys]}, "steps": STEPS})
    return spec.on.github[0]


class TestWithoutRepositories:
    def test_a_pipeline_without_repositories_matches_a_managed_repository(self) -> None:
        verdict = match_filter(opened_in("octo/app"), bound(), managed=["octo/app"])

        assert verdict.matched
        assert verdict.reasons[0].endswith("in octo/app (a repository Orchestrate manages)")

    def test_a_managed_repository_matches_whatever_the_case_of_its_name(self) -> None:
        assert match_filter(opened_in("Octo/App"), bound(), managed=["octo/app"]).matched

    def test_a_pipeline_without_repositories_ignores_a_repository_not_managed(self) -> None:
        verdict = match_filter(opened_in("octo/evil"), bound(), managed=["octo/app"])

        assert verdict.reasons == [
            "no repositories given and octo/evil is not registered (orchestrate repo list): "
            "add repositories: [octo/evil] to bind the pipeline to it, or register it with "
            "'orchestrate repo add PATH_OR_URL --name octo/evil'"
        ]

    def test_with_no_repository_managed_a_pipeline_without_repositories_matches_nothing(
        self,
    ) -> None:
        verdict = match_filter(opened_in("octo/app"), bound())

        assert not verdict.matched
        assert verdict.reasons == [
            "no repositories given and no repository is registered (orchestrate repo list), "
            "so the filter matches nothing: add repositories: [octo/app] or register it with "
            "'orchestrate repo add PATH_OR_URL --name octo/app'"
        ]

    def test_route_defaults_to_no_managed_repository(self) -> None:
        spec = PipelineSpec.model_validate(
            {"name": "ci", "on": {"github": [{"event": "pull_request"}]}, "steps": STEPS}
        )

        [verdict] = route(opened_in("octo/app"), [spec])

        assert not verdict.matched


class TestWithRepositories:
    @pytest.mark.parametrize(
        "patterns",
        [["octo/app"], "octo/app", ["OCTO/APP"], ["octo/*"], ["*/app"], ["*/*"], ["octo/a[p]p"]],
    )
    def test_a_repository_selected_by_the_patterns_matches_without_being_managed(
        self, patterns: Any
    ) -> None:
        verdict = match_filter(opened_in("octo/app"), bound(patterns))

        assert verdict.matched
        listing = patterns if isinstance(patterns, str) else ", ".join(patterns)
        assert verdict.reasons[0].endswith(f"(selected by repositories [{listing}])")

    def test_a_repository_outside_the_patterns_does_not_match_even_when_managed(self) -> None:
        verdict = match_filter(opened_in("octo/evil"), bound(["octo/app"]), managed=["octo/evil"])

        assert verdict.reasons == ["repository 'octo/evil' is not in repositories [octo/app]"]

    def test_a_negative_pattern_excludes_a_repository_the_earlier_one_selected(self) -> None:
        patterns = ["octo/*", "!octo/secret"]

        assert match_filter(opened_in("octo/app"), bound(patterns)).matched
        assert not match_filter(opened_in("octo/secret"), bound(patterns)).matched

    def test_only_negative_patterns_select_nothing_and_say_so(self) -> None:
        verdict = match_filter(opened_in("octo/app"), bound(["!octo/secret"]))

        assert verdict.reasons == [
            "repository 'octo/app' is not in repositories [!octo/secret] "
            "(a list of only '!' patterns selects nothing; add '*/*' first)"
        ]

    def test_an_entry_that_is_not_owner_and_name_does_not_match_and_says_why(self) -> None:
        stored = GithubEventFilter.model_construct(event="pull_request", repositories=["app"])

        verdict = match_filter(opened_in("octo/app"), stored)

        assert verdict.reasons == [
            "repositories entry 'app' is not owner/name (globs allowed, e.g. octo/*)"
        ]

    def test_an_empty_list_stored_before_validation_matches_nothing(self) -> None:
        stored = GithubEventFilter.model_construct(event="pull_request", repositories=[])

        assert not match_filter(opened_in("octo/app"), stored, managed=["octo/app"]).matched

    def test_a_pattern_github_would_reject_does_not_match_and_names_the_problem(self) -> None:
        verdict = match_filter(opened_in("octo/app"), bound(["octo/[app"]))

        assert not verdict.matched
        assert "is invalid at character 6" in verdict.reasons[0]


def test_a_delivery_without_a_repository_matches_no_pipeline() -> None:
    ping: dict[str, Any] = json.loads(
        (GITHUB_WEBHOOKS / "ping/with-app_id.payload.json").read_text()
    )
    ping.pop("repository", None)
    event = github_event("ping", ping)
    ping_filter = GithubEventFilter.model_construct(event="ping", repositories=["*/*"], forks=True)

    verdict = match_filter(event, ping_filter, managed=["octo/app"])

    assert verdict.reasons == [
        "the ping delivery names no repository, so no pipeline is bound to it"
    ]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("[app]", "repositories entry 'app' is not owner/name"),
        ("['octo/app/x']", "repositories entry 'octo/app/x' is not owner/name"),
        ("[]", "'repositories' is empty, so the entry would match nothing"),
    ],
)
def test_a_pipeline_with_malformed_repositories_is_refused_with_its_line(
    written: str, problem: str
) -> None:
    text = (
        "name: bad\non:\n  github:\n    - event: push\n"
        f"      repositories: {written}\nsteps:\n  - id: go\n    run: 'true'\n"
    )

    with pytest.raises(ValidationFailed) as refused:
        load_pipeline(text, source="bad.yml")

    assert "bad.yml:5:" in str(refused.value)
    assert problem in str(refused.value)
