"""SPDX expressions: parsing with license-expression's bundled index (offline), mapping
free-form licence names to SPDX ids where the name is unambiguous, and evaluating an
expression against a policy.

Semantics: ``A OR B`` lets the user choose, so its verdict is the best of its parts;
``A AND B`` obliges both, so it is the worst; ``X WITH E`` is judged as the pair when the
policy names the pair, else as ``X`` (an exception only ever adds permissions).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from license_expression import ExpressionError, get_spdx_licensing

from orchestrate.security.licenses.models import Evaluation, LicensePolicy

# Longer strings are licence texts, not names or expressions; they go to text matching.
MAX_EXPRESSION_CHARS = 500

# Free-form names met in package metadata, lowercased with punctuation collapsed.
# Only unambiguous ones: "BSD" or "GPL" alone name several licences and stay unknown.
_NAMES = {
    "mit": "MIT",
    "mit license": "MIT",
    "the mit license": "MIT",
    "mit-0": "MIT-0",
    "expat": "MIT",
    "apache 2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "apache2": "Apache-2.0",
    "bsd 2-clause": "BSD-2-Clause",
    "bsd-2-clause license": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-3-clause license": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "mozilla public license 2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl 2.0": "MPL-2.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later",
    "gplv2": "GPL-2.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gplv3+": "GPL-3.0-or-later",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0-only",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later",
    "gnu library or lesser general public license (lgpl)": "LGPL-2.0-or-later",
    "gnu affero general public license v3": "AGPL-3.0-only",
    "gnu affero general public license v3 or later (agplv3+)": "AGPL-3.0-or-later",
    "agplv3": "AGPL-3.0-only",
    "python software foundation license": "PSF-2.0",
    "psf": "PSF-2.0",
    "psfl": "PSF-2.0",
    "zope public license": "ZPL-2.1",
    "the unlicense (unlicense)": "Unlicense",
    "the unlicense": "Unlicense",
    "unlicense": "Unlicense",
    "cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0",
    "cc0": "CC0-1.0",
    "eclipse public license 2.0 (epl-2.0)": "EPL-2.0",
    "eclipse public license 1.0 (epl-1.0)": "EPL-1.0",
    "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "zlib/libpng license": "Zlib",
    "historical permission notice and disclaimer (hpnd)": "HPND",
    "universal permissive license (upl)": "UPL-1.0",
    "server side public license (sspl)": "SSPL-1.0",
    "european union public licence 1.2 (eupl 1.2)": "EUPL-1.2",
    "artistic license": "Artistic-1.0",
    "0bsd": "0BSD",
}
# Family names that license-expression would read as one version of the family (its
# index maps "GPL" to GPL-1.0-or-later): alone they do not say which licence it is.
_AMBIGUOUS = frozenset({"gpl", "lgpl", "agpl", "bsd", "apache", "mpl", "epl", "cc-by", "lgpl+"})
_TOKENS = re.compile(r"[^\s()]+")
_CLASSIFIER = re.compile(r"^License\s*::\s*(?:OSI Approved\s*::\s*)?(?P<name>.+)$")


@functools.cache
def _licensing() -> Any:
    return get_spdx_licensing()


def parse_expression(text: str) -> str | None:
    """``text`` as a canonical SPDX expression when it is one (every id known to SPDX,
    or a ``LicenseRef-``), else ``None``."""
    text = text.strip()
    if not text or len(text) > MAX_EXPRESSION_CHARS:
        return None
    if any(token.lower() in _AMBIGUOUS for token in _TOKENS.findall(text)):
        return None
    try:
        parsed = _licensing().parse(text)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    for key in _licensing().unknown_license_keys(parsed):
        if not str(key).startswith(("LicenseRef-", "DocumentRef-")):
            return None
    return str(parsed)


def canonical_id(text: str) -> str | None:
    """One licence id (or ``X WITH E``) in SPDX's canonical spelling, else ``None``."""
    expression = parse_expression(text)
    if expression is None or " AND " in expression or " OR " in expression:
        return None
    return expression


def normalise_license(text: str) -> str | None:
    """An SPDX expression for what metadata says: an expression as it stands, a trove
    classifier, or a free-form name we know; ``None`` when it stays ambiguous."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_EXPRESSION_CHARS:
        return None
    match = _CLASSIFIER.match(text)
    if match:
        text = match.group("name").strip()
    key = text.lower().rstrip(".")
    if key in _NAMES:
        return _NAMES[key]
    if key.endswith(" license") and key.removesuffix(" license") in _NAMES:
        return _NAMES[key.removesuffix(" license")]
    return parse_expression(text)


def evaluate(expression: str, policy: LicensePolicy) -> Evaluation:
    """The policy's verdict on a canonical SPDX expression (see the module docstring)."""
    parsed = _licensing().parse(expression)
    return _evaluate(parsed, policy)


def _evaluate(node: Any, policy: LicensePolicy) -> Evaluation:
    kind = type(node).__name__
    if kind == "LicenseWithExceptionSymbol":
        pair = f"{node.license_symbol.key} WITH {node.exception_symbol.key}"
        verdict = policy.verdict_of(pair)
        if pair in policy.allowed | policy.review | policy.denied:
            return Evaluation(verdict, (pair,))
        return Evaluation(policy.verdict_of(str(node.license_symbol.key)), (pair,))
    if kind == "LicenseSymbol":
        key = str(node.key)
        return Evaluation(policy.verdict_of(key), (key,))
    parts = [_evaluate(arg, policy) for arg in node.args]
    if kind == "OR":
        best = min(part.verdict.rank for part in parts)
    else:  # AND
        best = max(part.verdict.rank for part in parts)
    chosen = [part for part in parts if part.verdict.rank == best]
    deciding = tuple(dict.fromkeys(d for part in chosen for d in part.deciding))
    return Evaluation(chosen[0].verdict, deciding)
