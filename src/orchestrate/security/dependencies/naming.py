"""Package names as each ecosystem compares them, so a lockfile's name and an
advisory's name meet: PyPI by PEP 503 (case-insensitive, runs of ``-_.`` are one ``-``);
npm, crates.io and Go names are compared exactly as written (npm and Go are case
sensitive; Cargo.lock and OSV both write a crate's canonical name)."""

from __future__ import annotations

import re

from orchestrate.security.models import Ecosystem

_PEP503_SEPARATORS = re.compile(r"[-_.]+")


def normalise_name(ecosystem: Ecosystem, name: str) -> str:
    name = name.strip()
    if ecosystem is Ecosystem.PYPI:
        return _PEP503_SEPARATORS.sub("-", name).lower()
    return name
