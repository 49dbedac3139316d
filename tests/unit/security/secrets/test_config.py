"""``.orchestrate-secrets.toml``: defaults, every key taking effect, and wrong files
refused with a message naming the file and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.models import Severity
from orchestrate.security.secrets import (
    CONFIG_FILE,
    SecretsConfig,
    load_secrets_config,
    scan_tree,
)
from tests.unit.security.secrets.builders import api_secret, github_token


def _configure(root: Path, text: str) -> SecretsConfig:
    (root / CONFIG_FILE).write_text(text, encoding="utf-8")
    return load_secrets_config(root)


def test_no_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_secrets_config(tmp_path) == SecretsConfig()


def test_allowlisted_paths_are_not_scanned(tmp_path: Path) -> None:
    for name in ("tests/fixtures/keys.py", "docs/setup.md", "app/keys.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f'TOKEN = "{github_token()}"\n')
    config = _configure(tmp_path, '[allowlist]\npaths = ["tests/fixtures/**", "*.md"]\n')

    found = scan_tree(tmp_path, config)

    assert [finding.location.path for finding in found] == ["app/keys.py"]


def test_an_allowlisted_regex_drops_the_secrets_it_matches(tmp_path: Path) -> None:
    kept, dropped = api_secret(), "Acme" + api_secret()
    (tmp_path / "app.py").write_text(f'api_key = "{kept}"\nsecret_key = "{dropped}"\n')
    config = _configure(tmp_path, "[allowlist]\nregexes = ['^Acme']\n")

    assert [f.location.start_line for f in scan_tree(tmp_path, config)] == [1]


def test_a_stopword_drops_secrets_that_contain_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(f'api_key = "{api_secret()}SANDBOX"\n')
    config = _configure(tmp_path, 'stopwords = ["sandbox"]\n')

    assert scan_tree(tmp_path, config) == []


def test_a_disabled_rule_reports_nothing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(f'TOKEN = "{github_token()}"\n')
    config = _configure(tmp_path, 'disabled_rules = ["github-pat", "generic-secret"]\n')

    assert scan_tree(tmp_path, config) == []


def test_a_custom_rule_finds_its_secret_with_its_severity(tmp_path: Path) -> None:
    secret = "acme_" + api_secret().lower()
    (tmp_path / "app.py").write_text(f"client = Acme({secret!r})\n")
    config = _configure(
        tmp_path,
        "[[rules]]\n"
        'id = "acme-key"\n'
        'title = "Acme API key"\n'
        "regex = 'acme_(?P<secret>[a-z0-9]{32})'\n"
        'keywords = ["ACME_"]\n'
        'severity = "critical"\n'
        "entropy = 3.0\n",
    )

    [finding] = scan_tree(tmp_path, config)

    assert finding.rule_id == "secrets/acme-key"
    assert finding.title == "Acme API key"
    assert finding.severity is Severity.CRITICAL
    assert finding.location.start_column == len("client = Acme('acme_") + 1


def test_max_file_size_skips_larger_files(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text(f'TOKEN = "{github_token()}"\n' + "#" * 200)
    config = _configure(tmp_path, "max_file_size = 100\n")

    assert scan_tree(tmp_path, config) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_file_size = [\n", "is not valid TOML"),
        ("max_size = 10\n", "unknown key(s) max_size"),
        ("max_file_size = -1\n", "max_file_size must be a positive"),
        ('disabled_rules = "jwt"\n', "disabled_rules must be a list"),
        ('disabled_rules = ["github-tokn"]\n', "unknown rule(s) github-tokn"),
        ("[allowlist]\nregexes = ['(']\n", "is not a valid regex"),
        ("[allowlist]\nglobs = []\n", "unknown key(s) globs in [allowlist]"),
        ("[[rules]]\nid = 'Acme Key'\nregex = 'x'\n", "kebab-case"),
        ("[[rules]]\nid = 'acme'\n", "regex is required"),
        ("[[rules]]\nid = 'acme'\nregex = '(['\n", "regex is not valid"),
        ("[[rules]]\nid = 'acme'\nregex = 'a*'\n", "matches the empty string"),
        ("[[rules]]\nid = 'acme'\nregex = 'a'\nseverity = 'urgent'\n", "severity 'urgent'"),
        ("[[rules]]\nid = 'acme'\nregex = 'a'\nentropy = 'high'\n", "entropy must be"),
        ("[[rules]]\nid = 'jwt'\nregex = 'a'\n", "are built-in rule ids"),
        ("[[rules]]\nid = 'acme'\nregex = 'acme(?=_)'\n", "RE2 syntax"),
        ("[allowlist]\nregexes = ['(a)\\1']\n", "RE2 syntax"),
    ],
)
def test_a_wrong_file_is_refused_naming_it_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        _configure(tmp_path, text)

    assert CONFIG_FILE in str(raised.value)
    assert message in str(raised.value)


def test_a_catastrophic_custom_pattern_still_ends(tmp_path: Path) -> None:
    """A repository's own regexes run on RE2, in time linear in the text: ``(a+)+$``
    against 50,000 ``a`` and a ``b`` would backtrack for ever in Python's ``re``. Run in
    a child process with a deadline, so a regression fails instead of hanging."""
    (tmp_path / "data.txt").write_text("a" * 50_000 + "b\n")
    _configure(
        tmp_path,
        "[[rules]]\nid = 'slow'\nregex = '(a+)+$'\n[allowlist]\nregexes = ['(x+x+)+y']\n",
    )
    script = (
        "import sys; from pathlib import Path; from orchestrate.security.secrets import "
        "load_secrets_config, scan_tree; root = Path(sys.argv[1]); "
        "print(len(scan_tree(root, load_secrets_config(root))))"
    )

    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.strip() == "0"
    assert "re2.cc" not in done.stderr  # RE2 itself prints nothing
