"""GitLab settings, and GitLab's JSON read as hostile input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import load_settings
from orchestrate.forges.client import PullRequestState, ReviewVerdict
from orchestrate.forges.gitlab._convert import pull_request_info, review_thread
from orchestrate.forges.gitlab._reviews import read_marker, review_body, review_note


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ORCHESTRATE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


class TestSettings:
    def test_gitlab_com_is_the_default_and_no_token_is_set(self) -> None:
        settings = load_settings()

        assert (settings.gitlab_url, settings.gitlab_token) == ("https://gitlab.com", None)

    def test_an_api_url_copied_whole_is_trimmed_to_the_instance(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_GITLAB_URL", "https://git.example.com/api/v4/")

        assert load_settings().gitlab_url == "https://git.example.com"

    def test_a_url_that_is_not_http_is_refused_naming_the_setting(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATE_GITLAB_URL", "git.example.com")

        with pytest.raises(ConfigurationError, match="ORCHESTRATE_GITLAB_URL"):
            load_settings()

    def test_the_token_is_secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ORCHESTRATE_GITLAB_TOKEN", "glpat-secret")

        settings = load_settings()

        assert "glpat-secret" not in repr(settings)
        assert settings.gitlab_token is not None
        assert settings.gitlab_token.get_secret_value() == "glpat-secret"


class TestReading:
    def test_a_merge_request_of_odd_fields_reads_without_raising(self) -> None:
        info = pull_request_info(
            "g/app", {"iid": "7", "state": 3, "labels": [1, "ok"], "author": "x", "title": None}
        )

        assert (info.number, info.state, info.labels, info.author.login) == (
            0,
            PullRequestState.CLOSED,
            ("ok",),
            None,
        )

    def test_a_draft_title_is_reported_without_its_prefix(self) -> None:
        info = pull_request_info("g/app", {"iid": 1, "state": "opened", "title": "[Draft] Fix"})

        assert (info.draft, info.title) == (True, "Fix")

    def test_gitlabs_draft_flag_wins_over_the_title(self) -> None:
        info = pull_request_info(
            "g/app", {"iid": 1, "state": "opened", "title": "Draft: x", "draft": False}
        )

        assert (info.draft, info.title) == (False, "Draft: x")

    def test_mergeable_is_unknown_while_gitlab_checks(self) -> None:
        info = pull_request_info(
            "g/app", {"iid": 1, "state": "opened", "detailed_merge_status": "checking"}
        )

        assert info.mergeable is None

    def test_a_plain_comment_is_no_thread(self) -> None:
        discussion = {"id": "d", "individual_note": True, "notes": [{"id": 1, "body": "hi"}]}

        assert review_thread(discussion, "abc") is None


class TestReviewMarker:
    def test_a_review_note_reads_back_its_verdict_commit_and_words(self) -> None:
        note = review_note(ReviewVerdict.CHANGES_REQUESTED, "Rename it.", "a" * 40)

        marked = read_marker(note)

        assert marked is not None
        assert (marked.verdict, marked.commit_sha) == (ReviewVerdict.CHANGES_REQUESTED, "a" * 40)
        assert review_body(note) == "Rename it."

    def test_a_marker_inside_the_text_is_not_a_review(self) -> None:
        text = "Quoting: <!-- orchestrate:review approved --> and more words"

        assert read_marker(text) is None
