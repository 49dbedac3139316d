"""``Cargo.lock``: every ``[[package]]`` from a registry (crates.io or a mirror).

Packages without a ``source`` are the workspace's own crates; their ``dependencies``
lists (``"name"``, ``"name version"`` or ``"name version (source)"``) say which crates
are direct. Git and path sources are skipped: they are not crates.io releases.
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestrate.security.dependencies._input import (
    LineFinder,
    invalid,
    load_toml,
    read_text,
    relative,
    text_of,
)
from orchestrate.security.models import Dependency, Ecosystem

_NAME_KEY = re.compile(r'^name\s*=\s*"([^"]{1,300})"\s*$')
_REGISTRY_PREFIXES = ("registry+", "sparse+")


def read(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    text = read_text(path, source)
    packages = load_toml(text, source).get("package", [])
    if not isinstance(packages, list):
        raise invalid(source, None, "'package' is not a list of tables")
    lines = LineFinder(text).blocks("[[package]]", _NAME_KEY)
    direct: set[str] = set()
    for package in packages:
        if isinstance(package, dict) and "source" not in package:
            for listed in package.get("dependencies") or []:
                if isinstance(listed, str) and listed:
                    direct.add(listed.split(" ", 1)[0])
    found = []
    for index, package in enumerate(packages):
        if not isinstance(package, dict) or text_of(package.get("name")) is None:
            raise invalid(source, None, "has a [[package]] without a name")
        origin = text_of(package.get("source"))
        if origin is None or not origin.startswith(_REGISTRY_PREFIXES):
            continue
        name = str(package["name"])
        found.append(
            Dependency(
                ecosystem=Ecosystem.CRATES_IO,
                name=name,
                version=text_of(package.get("version")),
                source=source,
                line=lines[index][1] if index < len(lines) else None,
                is_direct=name in direct,
            )
        )
    return found
