"""Loading a licence policy file (TOML or YAML) and the built-in default."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.licenses import Verdict, load_license_policy


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_path_is_the_built_in_policy() -> None:
    policy = load_license_policy(None)

    assert policy.verdict_of("MIT") is Verdict.ALLOWED
    assert policy.verdict_of("GPL-3.0-only") is Verdict.REVIEW
    assert policy.verdict_of("AGPL-3.0-or-later") is Verdict.DENIED
    assert policy.unlisted is Verdict.REVIEW


def test_a_toml_policy_is_laid_over_the_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "policy.toml",
        'allowed = ["MPL-2.0", "LicenseRef-Acme"]\n'
        'denied = ["gpl-3.0-only"]\n'
        'unlisted = "denied"\n',
    )

    policy = load_license_policy(path)

    assert policy.verdict_of("MPL-2.0") is Verdict.ALLOWED  # moved out of review
    assert policy.verdict_of("LicenseRef-Acme") is Verdict.ALLOWED
    assert policy.verdict_of("GPL-3.0-only") is Verdict.DENIED  # spelled canonically
    assert policy.verdict_of("MIT") is Verdict.ALLOWED  # from the default
    assert policy.verdict_of("Zlib-acknowledgement") is Verdict.DENIED


def test_a_yaml_policy_without_the_default_has_only_its_own_lists(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "policy.yaml",
        "extends_default: false\nallowed: [MIT]\nreview: [Apache-2.0 WITH LLVM-exception]\n",
    )

    policy = load_license_policy(path)

    assert policy.allowed == frozenset({"MIT"})
    assert policy.review == frozenset({"Apache-2.0 WITH LLVM-exception"})
    assert policy.denied == frozenset()
    assert policy.verdict_of("BSD-3-Clause") is Verdict.REVIEW


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('allowed = ["Apache-2.O"]\n', "Did you mean 'Apache-2.0'"),
        ('allowed = ["MIT"]\ndenied = ["mit"]\n', "in both allowed and denied"),
        ('alowed = ["MIT"]\n', "unknown key(s) alowed"),
        ('unlisted = "maybe"\n', "unlisted"),
        ('allowed = "MIT"\n', "must be a list"),
        ("allowed = [\n", "is not valid"),
    ],
)
def test_a_wrong_policy_file_is_refused_saying_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, "policy.toml", text)

    with pytest.raises(ValidationFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_license_policy(path)


def test_a_missing_policy_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="security_license_policy"):
        load_license_policy(tmp_path / "absent.toml")
