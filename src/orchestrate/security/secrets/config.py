"""``.orchestrate-secrets.toml``: what a repository tells the secret scanner.

::

    max_file_size = 2_000_000          # bytes; larger files are not read
    disabled_rules = ["jwt"]           # built-in or custom rule ids
    stopwords = ["acme-sandbox"]       # a secret containing one is not reported

    [allowlist]
    paths = ["tests/fixtures/**", "docs/*.md"]     # globs on the path from the root
    regexes = ['^AKIA[A-Z0-9]{12}TEST$']          # searched in the secret

    [[rules]]
    id = "acme-api-key"
    title = "Acme API key"             # optional
    regex = 'acme_(?P<secret>[a-z0-9]{32})'
    keywords = ["acme_"]               # optional; without, the rule runs on every file
    severity = "high"                  # optional, default high
    entropy = 3.5                      # optional minimum Shannon entropy of the secret

A missing file means the defaults. A file that cannot be read, is not TOML, or says
something wrong is a ValidationFailed naming the file and the problem; nothing of it is
applied.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.models import Severity
from orchestrate.security.secrets.models import Rule, RuleKind, SecretsConfig
from orchestrate.security.secrets.patterns import (
    PatternError,
    TextPattern,
    compile_bytes,
    compile_text,
)
from orchestrate.security.secrets.rules import RULES_BY_ID

CONFIG_FILE = ".orchestrate-secrets.toml"
_MAX_CONFIG_BYTES = 1_000_000
_TOP_KEYS = frozenset({"max_file_size", "disabled_rules", "stopwords", "allowlist", "rules"})
_ALLOWLIST_KEYS = frozenset({"paths", "regexes"})
_RULE_KEYS = frozenset({"id", "title", "description", "regex", "keywords", "severity", "entropy"})
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


def load_secrets_config(root: Path) -> SecretsConfig:
    """The configuration in ``root/.orchestrate-secrets.toml``, or the defaults."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return SecretsConfig()
    return _configuration(_read(path), str(path))


def parse_secrets_config(text: str | None, where: str) -> SecretsConfig:
    """The configuration written in ``text`` (None: no file, the defaults); ``where``
    names it in errors (a file, or a file at a git revision)."""
    if text is None:
        return SecretsConfig()
    if len(text.encode()) > _MAX_CONFIG_BYTES:
        raise ValidationFailed(f"{where} is over {_MAX_CONFIG_BYTES:,} bytes.")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValidationFailed(f"{where} is not valid TOML: {error}.") from None
    return _configuration(document, where)


def _configuration(document: Mapping[str, object], where: str) -> SecretsConfig:
    _refuse_unknown(where, "the file", document, _TOP_KEYS)
    allowlist = document.get("allowlist", {})
    if not isinstance(allowlist, dict):
        raise ValidationFailed(f"{where}: [allowlist] must be a table.")
    _refuse_unknown(where, "[allowlist]", allowlist, _ALLOWLIST_KEYS)
    custom = tuple(
        _custom_rule(where, index, entry)
        for index, entry in enumerate(_list(where, "rules", document.get("rules", [])))
    )
    known = set(RULES_BY_ID) | {rule.id for rule in custom}
    disabled = _strings(where, "disabled_rules", document.get("disabled_rules", []))
    unknown = sorted(set(disabled) - known)
    if unknown:
        raise ValidationFailed(
            f"{where}: disabled_rules names unknown rule(s) {', '.join(unknown)}; "
            "`orchestrate security rules` lists them."
        )
    clashing = sorted({rule.id for rule in custom} & set(RULES_BY_ID))
    if clashing:
        raise ValidationFailed(
            f"{where}: custom rule id(s) {', '.join(clashing)} are built-in rule ids; "
            "choose another id."
        )
    max_size = document.get("max_file_size", SecretsConfig.max_file_size)
    if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size <= 0:
        raise ValidationFailed(f"{where}: max_file_size must be a positive number of bytes.")
    return SecretsConfig(
        allowlist_paths=_strings(where, "allowlist.paths", allowlist.get("paths", [])),
        allowlist_regexes=tuple(
            _regex(where, "allowlist.regexes", text)
            for text in _strings(where, "allowlist.regexes", allowlist.get("regexes", []))
        ),
        stopwords=_strings(where, "stopwords", document.get("stopwords", [])),
        disabled_rules=frozenset(disabled),
        custom_rules=custom,
        max_file_size=max_size,
        source=where,
    )


def _read(path: Path) -> Mapping[str, object]:
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            raise ValidationFailed(f"{path} is over {_MAX_CONFIG_BYTES:,} bytes.")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationFailed(f"{path} cannot be read: {error}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ValidationFailed(f"{path} is not valid TOML: {error}.") from None


def _refuse_unknown(
    where: str, section: str, table: Mapping[str, object], known: frozenset[str]
) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValidationFailed(
            f"{where}: unknown key(s) {', '.join(unknown)} in {section}; "
            f"the keys are {', '.join(sorted(known))}."
        )


def _list(where: str, name: str, value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValidationFailed(f"{where}: {name} must be a list.")
    return value


def _strings(where: str, name: str, value: object) -> tuple[str, ...]:
    items = _list(where, name, value)
    if not all(isinstance(item, str) and item for item in items):
        raise ValidationFailed(f"{where}: {name} must be a list of non-empty strings.")
    return tuple(str(item) for item in items)


def _regex(where: str, name: str, text: str) -> TextPattern:
    try:
        return compile_text(text)
    except PatternError as error:
        raise ValidationFailed(
            f"{where}: {name}: {text!r} is not a valid regex ({error})."
        ) from None


def _custom_rule(where: str, index: int, entry: object) -> Rule:
    if not isinstance(entry, dict):
        raise ValidationFailed(f"{where}: rules[{index}] must be a table ([[rules]]).")
    label = f"rules[{index}]" + (f" ({entry['id']})" if isinstance(entry.get("id"), str) else "")
    _refuse_unknown(where, label, entry, _RULE_KEYS)
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise ValidationFailed(
            f"{where}: {label}: id must be lowercase letters, digits and dashes (kebab-case)."
        )
    regex = entry.get("regex")
    if not isinstance(regex, str) or not regex:
        raise ValidationFailed(f"{where}: {label}: regex is required.")
    try:
        pattern = compile_bytes(regex)
    except PatternError as error:
        raise ValidationFailed(f"{where}: {label}: regex is not valid ({error}).") from None
    if pattern.match(b"") is not None:
        raise ValidationFailed(f"{where}: {label}: regex matches the empty string.")
    severity_name = entry.get("severity", "high")
    if severity_name not in {s.value for s in Severity}:
        raise ValidationFailed(
            f"{where}: {label}: severity {severity_name!r}; use one of "
            f"{', '.join(s.value for s in Severity)}."
        )
    entropy = entry.get("entropy")
    if entropy is not None and (
        not isinstance(entropy, int | float) or isinstance(entropy, bool) or not 0 <= entropy <= 8
    ):
        raise ValidationFailed(f"{where}: {label}: entropy must be a number from 0 to 8.")
    title = entry.get("title", rule_id)
    description = entry.get("description", f"Matched the custom rule {rule_id} of {CONFIG_FILE}.")
    if not isinstance(title, str) or not isinstance(description, str):
        raise ValidationFailed(f"{where}: {label}: title and description must be strings.")
    keywords = _strings(where, f"{label}.keywords", entry.get("keywords", []))
    return Rule(
        id=rule_id,
        title=title,
        description=description,
        severity=Severity(severity_name),
        keywords=tuple(keyword.lower() for keyword in keywords),
        kind=RuleKind.PATTERN,
        pattern=pattern,
        min_entropy=float(entropy) if entropy is not None else None,
        priority=2,
    )
