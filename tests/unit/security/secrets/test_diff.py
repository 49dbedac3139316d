"""Scanning a unified diff: added lines only, numbered as in the new file."""

from __future__ import annotations

from orchestrate.security.secrets import SecretsConfig, scan_diff
from tests.unit.security.secrets.builders import github_token


def test_only_added_lines_are_reported_at_their_new_line_numbers() -> None:
    added, removed, replacement, deleted, quoted = (github_token() for _ in range(5))
    diff = (
        "diff --git a/app.py b/app.py\n"
        "index 1111111..2222222 100644\n"
        "--- a/app.py\n"
        "+++ b/app.py\n"
        "@@ -3,0 +4,2 @@ def configure():\n"
        f'+TOKEN = "{added}"\n'
        "+other = 1\n"
        "@@ -10 +12 @@\n"
        f'-OLD = "{removed}"\n'
        f'+NEW = "{replacement}"\n'
        "diff --git a/gone.py b/gone.py\n"
        "deleted file mode 100644\n"
        "--- a/gone.py\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        f'-TOKEN = "{deleted}"\n'
        'diff --git "a/dir with space/\\303\\251.py" "b/dir with space/\\303\\251.py"\n'
        "new file mode 100644\n"
        "--- /dev/null\n"
        '+++ "b/dir with space/\\303\\251.py"\n'
        "@@ -0,0 +1 @@\n"
        f'+KEY = "{quoted}"\n'
        "\\ No newline at end of file\n"
    )

    found = scan_diff(diff, SecretsConfig())

    assert [(f.location.path, f.location.start_line) for f in found] == [
        ("app.py", 4),
        ("app.py", 12),
        ("dir with space/é.py", 1),
    ]
    assert found[1].location.start_column == len('NEW = "') + 1
    assert all(f.location.commit is None for f in found)


def test_context_lines_count_towards_new_line_numbers() -> None:
    diff = (
        "diff --git a/app.py b/app.py\n"
        "--- a/app.py\n"
        "+++ b/app.py\n"
        "@@ -1,3 +1,4 @@\n"
        " import os\n"
        "-x = 1\n"
        " y = 2\n"
        "+z = 3\n"
        f'+TOKEN = "{github_token()}"\n'
    )

    [finding] = scan_diff(diff, SecretsConfig())

    assert finding.location.start_line == 4


def test_excluded_and_allowlisted_paths_in_a_diff_are_skipped() -> None:
    diff = "".join(
        f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n@@ -0,0 +1 @@\n"
        f'+TOKEN = "{github_token()}"\n'
        for name in ("report.sarif", "tests/fixtures/a.py", "app.py")
    )
    config = SecretsConfig(allowlist_paths=("tests/fixtures/**",))

    found = scan_diff(diff, config, exclude_paths=["report.sarif"])

    assert [f.location.path for f in found] == ["app.py"]


def test_an_empty_diff_has_no_findings() -> None:
    assert scan_diff("", SecretsConfig()) == []
