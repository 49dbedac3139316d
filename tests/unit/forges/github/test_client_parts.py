"""The GitHub adapter's pure parts: hostile JSON, rate-limit waits, where credentials come from."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from pydantic import SecretStr

from orchestrate.core.durations import parse_retry_after
from orchestrate.core.errors import ConfigurationError, ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.forges.client import CheckState, PullRequestState, ReviewVerdict
from orchestrate.forges.github import convert
from orchestrate.forges.github.auth import AppCredentials, TokenCredentials, resolve_credentials
from orchestrate.forges.github.session import split

KEY = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"


class TestHostileJson:
    @pytest.mark.parametrize(
        "data",
        [{}, {"head": "x", "base": 3, "user": [], "labels": "bug", "number": "7", "draft": "yes"}],
    )
    def test_an_odd_pull_request_reads_as_empty_fields_not_an_error(
        self, data: dict[str, object]
    ) -> None:
        pull = convert.pull_request("o/r", data)
        assert (pull.number, pull.head_sha, pull.labels, pull.draft) == (0, "", (), False)
        assert pull.state is PullRequestState.CLOSED
        assert pull.author.login is None

    def test_a_merged_pull_request_is_merged_whatever_its_state_says(self) -> None:
        pull = convert.pull_request(
            "o/r", {"state": "closed", "merged": True, "merge_commit_sha": "abc"}
        )
        assert (pull.state, pull.merge_commit_sha) == (PullRequestState.MERGED, "abc")

    def test_an_unknown_review_state_is_a_comment(self) -> None:
        assert convert.review({"state": "PENDING_SOMETHING"}).verdict is ReviewVerdict.COMMENTED

    def test_a_completed_check_with_an_unknown_conclusion_fails_rather_than_passes(self) -> None:
        check = convert.check_run({"name": "x", "status": "completed", "conclusion": "new_kind"})
        assert check.state is CheckState.FAILURE

    def test_only_an_actions_check_run_has_a_job_log(self) -> None:
        actions = convert.check_run({"id": 5, "app": {"slug": "github-actions"}})
        other = convert.check_run({"id": 6, "app": {"slug": "circleci"}})
        assert (actions.job_id, other.job_id) == ("5", None)

    def test_a_check_run_of_a_name_beats_a_status_of_the_same_context(self) -> None:
        runs = [{"id": 1, "name": "ci", "status": "completed", "conclusion": "success"}]
        statuses = [{"context": "ci", "state": "failure"}, {"context": "lint", "state": "error"}]
        checks = {c.name: c.state for c in convert.latest_checks(runs, statuses)}
        assert checks == {"ci": CheckState.SUCCESS, "lint": CheckState.FAILURE}


class TestRetryAfter:
    @pytest.mark.parametrize(("value", "seconds"), [("1", 1.0), ("0.25", 0.25), ("-3", 0.0)])
    def test_seconds_are_read_as_numbers(self, value: str, seconds: float) -> None:
        assert parse_retry_after(value) == seconds

    def test_an_http_date_is_read_as_the_time_until_it(self) -> None:
        wait = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
        assert wait is not None
        assert 28 <= wait <= 31

    @pytest.mark.parametrize("value", [None, "soon", ""])
    def test_nonsense_is_no_wait(self, value: str | None) -> None:
        assert parse_retry_after(value) is None


class TestCredentials:
    def test_the_setting_wins_over_the_stored_token(self) -> None:
        settings = Settings(github_token=SecretStr("from-setting"))
        credentials = resolve_credentials(settings, {"GITHUB_TOKEN": "stored"})
        assert credentials == TokenCredentials("from-setting", "ORCHESTRATE_GITHUB_TOKEN")

    def test_the_stored_token_is_used_without_the_setting(self) -> None:
        credentials = resolve_credentials(Settings(), {"GITHUB_TOKEN": "stored"})
        assert credentials == TokenCredentials("stored", "secret GITHUB_TOKEN")

    def test_an_app_wins_over_tokens_and_may_keep_its_key_in_the_store(self) -> None:
        settings = Settings(github_app_id="12", github_token=SecretStr("t"))
        credentials = resolve_credentials(settings, {"GITHUB_APP_PRIVATE_KEY": KEY})
        assert isinstance(credentials, AppCredentials)
        assert (credentials.app_id, credentials.installation_id) == ("12", None)

    def test_an_app_without_a_key_says_where_to_put_it(self) -> None:
        with pytest.raises(ConfigurationError, match="GITHUB_APP_PRIVATE_KEY"):
            resolve_credentials(Settings(github_app_id="12"), {})

    def test_credentials_never_show_in_their_repr(self) -> None:
        assert "sekrit" not in repr(TokenCredentials("sekrit", "x"))
        assert "abc" not in repr(AppCredentials("1", KEY, None, "x"))


@pytest.mark.parametrize("name", ["octo", "octo/", "/app", "a/b/c", ""])
def test_a_repository_that_is_not_owner_slash_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationFailed):
        split(name)
