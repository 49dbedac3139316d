"""Inline suppressions: Orchestrate's own marker and those of gitleaks and detect-secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.security.secrets import SecretsConfig, scan_tree
from tests.unit.security.secrets.builders import github_token


@pytest.mark.parametrize(
    "comment",
    ["# orchestrate:allow-secret", "# gitleaks:allow", "# pragma: allowlist secret"],
)
def test_a_marked_line_is_not_reported(tmp_path: Path, comment: str) -> None:
    (tmp_path / "app.py").write_text(
        f'FIXTURE = "{github_token()}"  {comment}\nREAL = "{github_token()}"\n'
    )

    found = scan_tree(tmp_path, SecretsConfig())

    assert [finding.location.start_line for finding in found] == [2]


def test_the_next_line_marker_of_detect_secrets_covers_the_next_line_only(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text(
        "# pragma: allowlist nextline secret\n"
        f'FIXTURE = "{github_token()}"\n'
        f'REAL = "{github_token()}"\n'
    )

    found = scan_tree(tmp_path, SecretsConfig())

    assert [finding.location.start_line for finding in found] == [3]
