"""The licence policy: the built-in default and loading a user's file.

The default allows permissive licences, asks for review of copyleft ones (weak and
strong: whether GPL is acceptable depends on how the software is distributed, which a
scanner cannot know) and denies network-copyleft, source-available and non-commercial
licences (AGPL, SSPL, BUSL, Elastic, Commons Clause, CC NC), which most companies
cannot ship or run as a service. A licence no list names needs review.

A policy file (TOML, or YAML by its ``.yaml``/``.yml`` suffix) has the keys
``allowed``, ``review`` and ``denied`` (lists of SPDX ids, ``LicenseRef-*`` ids or
``X WITH exception`` pairs), ``unlisted`` (``allowed``, ``review`` or ``denied``) and
``extends_default`` (true by default: the file's lists are laid over the built-in ones,
an id the file names moving to the file's list). docs/security-licenses.md shows one.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.licenses.models import LicensePolicy, Verdict
from orchestrate.security.licenses.spdx import _licensing, canonical_id

_MAX_POLICY_BYTES = 1_000_000

DEFAULT_ALLOWED = (
    "0BSD",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BlueOak-1.0.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSL-1.0",
    "CC0-1.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "HPND",
    "ISC",
    "MIT",
    "MIT-0",
    "NCSA",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "X11",
    "Zlib",
    "ZPL-2.1",
)
DEFAULT_REVIEW = (
    "Artistic-1.0",
    "Artistic-2.0",
    "CC-BY-SA-4.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.2",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MPL-1.1",
    "MPL-2.0",
    "OSL-3.0",
)
DEFAULT_DENIED = (
    "AGPL-1.0-only",
    "AGPL-1.0-or-later",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "BUSL-1.1",
    "CC-BY-NC-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-4.0",
    "Elastic-2.0",
    "SSPL-1.0",
    "LicenseRef-Commons-Clause",
)


def default_policy() -> LicensePolicy:
    """The built-in policy (the module docstring says why each list holds what it does)."""
    return LicensePolicy(
        allowed=frozenset(DEFAULT_ALLOWED),
        review=frozenset(DEFAULT_REVIEW),
        denied=frozenset(DEFAULT_DENIED),
    )


def load_license_policy(path: Path | None) -> LicensePolicy:
    """The policy in ``path`` (``settings.security_license_policy``), or the built-in one
    when ``path`` is ``None``. Raises ValidationFailed naming the file and the problem."""
    if path is None:
        return default_policy()
    document = _read(path)
    unknown = sorted(set(document) - {"allowed", "review", "denied", "unlisted", "extends_default"})
    if unknown:
        raise ValidationFailed(
            f"Licence policy {path}: unknown key(s) {', '.join(unknown)}; the keys are "
            "allowed, review, denied, unlisted and extends_default."
        )
    lists = {
        name: _ids(path, name, document.get(name, [])) for name in ("allowed", "review", "denied")
    }
    _refuse_duplicates(path, lists)
    unlisted = document.get("unlisted", Verdict.REVIEW.value)
    if unlisted not in {v.value for v in Verdict}:
        raise ValidationFailed(
            f"Licence policy {path}: unlisted = {unlisted!r}; use allowed, review or denied."
        )
    extends = document.get("extends_default", True)
    if not isinstance(extends, bool):
        raise ValidationFailed(f"Licence policy {path}: extends_default must be true or false.")
    base = default_policy() if extends else LicensePolicy(frozenset(), frozenset(), frozenset())
    named = lists["allowed"] | lists["review"] | lists["denied"]
    return LicensePolicy(
        allowed=(base.allowed - named) | lists["allowed"],
        review=(base.review - named) | lists["review"],
        denied=(base.denied - named) | lists["denied"],
        unlisted=Verdict(unlisted),
    )


def _read(path: Path) -> Mapping[str, object]:
    try:
        if path.stat().st_size > _MAX_POLICY_BYTES:
            raise ValidationFailed(f"Licence policy {path} is over {_MAX_POLICY_BYTES} bytes.")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationFailed(
            f"Licence policy {path} cannot be read ({error}); fix security_license_policy."
        ) from error
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            document = YAML(typ="safe", pure=True).load(text)
        else:
            document = tomllib.loads(text)
    except (YAMLError, tomllib.TOMLDecodeError) as error:
        raise ValidationFailed(f"Licence policy {path} is not valid: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ValidationFailed(f"Licence policy {path} must be a table of lists.")
    return document


def _ids(path: Path, name: str, values: object) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed(f"Licence policy {path}: {name} must be a list of SPDX ids.")
    return frozenset(_canonical(path, name, value) for value in values)


def _canonical(path: Path, name: str, value: str) -> str:
    canonical = canonical_id(value)
    if canonical is None:
        known: Iterable[str] = _licensing().known_symbols
        close = difflib.get_close_matches(value, list(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValidationFailed(
            f"Licence policy {path}: {value!r} in {name} is not an SPDX licence id, a "
            f"LicenseRef- id or an 'id WITH exception' pair.{hint}"
        )
    return canonical


def _refuse_duplicates(path: Path, lists: Mapping[str, frozenset[str]]) -> None:
    names = list(lists)
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            both = sorted(lists[first] & lists[second])
            if both:
                raise ValidationFailed(
                    f"Licence policy {path}: {', '.join(both)} is in both {first} and "
                    f"{second}; keep it in one."
                )
