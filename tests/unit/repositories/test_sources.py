"""What ``repo add`` accepts as a URL to clone, as a path, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.repositories.sources import (
    CloneUrl,
    LocalPath,
    against,
    classify_source,
    without_password,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octo/app.git",
        "http://git.example.com/octo/app",
        "ssh://git@github.com/octo/app.git",
        "git://example.com/octo/app",
        "file:///srv/git/app.git",
        "git@github.com:octo/app.git",
        "example.com:octo/app",
    ],
)
def test_the_git_transports_and_scp_like_addresses_are_urls(url: str) -> None:
    assert classify_source(url) == CloneUrl(url)


def test_an_absolute_path_is_a_path() -> None:
    assert classify_source("/srv/app") == LocalPath(Path("/srv/app"))


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("ext::sh -c touch% /tmp/pwned", "transport::address"),
        ("fd::3", "transport::address"),
        ("ftp://example.com/app.git", "Unsupported URL scheme 'ftp'"),
        ("https://user:token@github.com/octo/app.git", "carries a password"),
        ("--upload-pack=touch /tmp/x", "starts with '-'"),
        ("relative/app", "relative"),
        ("https:///octo/app", "names no host"),
        ("", "path to a git work tree or a URL"),
    ],
)
def test_other_transports_passwords_options_and_relative_paths_are_refused(
    source: str, reason: str
) -> None:
    with pytest.raises(ValidationFailed, match=reason):
        classify_source(source)


def test_the_cli_makes_a_relative_path_absolute_and_leaves_urls_alone(tmp_path: Path) -> None:
    assert against("app", tmp_path) == str(tmp_path / "app")
    assert against("git@github.com:octo/app.git", tmp_path) == "git@github.com:octo/app.git"
    assert against("/srv/app", tmp_path) == "/srv/app"


def test_a_password_in_a_remote_url_is_dropped() -> None:
    assert without_password("https://me:s3cret@example.com/a.git") == "https://me@example.com/a.git"
