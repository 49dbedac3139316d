"""npm's ``package-lock.json`` (and ``npm-shrinkwrap.json``), lockfile versions 1, 2, 3.

Versions 2 and 3 list every installed package under ``packages`` by its path
(``node_modules/a/node_modules/b``): the name is what follows the last
``node_modules/`` (or the entry's own ``name``, for aliases), ``dev`` marks development
packages, ``license`` is the package's declared licence, and a package is direct when
it sits at the top level and the root entry depends on it. Version 1 nests
``dependencies`` objects instead and has no licences. Links (workspaces) and entries
whose version is a URL or a git reference are the project's own or unversioned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies._input import (
    LineFinder,
    invalid,
    load_json,
    read_text,
    relative,
    text_of,
)
from orchestrate.security.models import Dependency, Ecosystem

_MARKER = "node_modules/"
_ROOT_DEPENDENCY_KEYS = (
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
)
MAX_DEPTH = 64


def read(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    text = read_text(path, source)
    document = load_json(text, source)
    if not isinstance(document, dict):
        raise invalid(source, 1, "is not a JSON object")
    finder = LineFinder(text)
    packages = document.get("packages")
    if isinstance(packages, dict):
        return _read_packages(packages, source, finder)
    dependencies = document.get("dependencies")
    if isinstance(dependencies, dict):
        direct = _manifest_names(path.parent / "package.json")
        return _read_v1(dependencies, source, finder, direct, depth=0)
    if packages is None and dependencies is None:
        return []
    raise invalid(source, None, "has neither a 'packages' nor a 'dependencies' object")


def _read_packages(packages: dict[str, Any], source: str, finder: LineFinder) -> list[Dependency]:
    root_entry = packages.get("")
    direct: set[str] = set()
    if isinstance(root_entry, dict):
        for key in _ROOT_DEPENDENCY_KEYS:
            listed = root_entry.get(key)
            if isinstance(listed, dict):
                direct |= set(listed)
    found = []
    for location, entry in packages.items():
        if not location or not isinstance(entry, dict) or entry.get("link"):
            continue
        if _MARKER not in location:
            continue  # a workspace folder, described by its link entry
        name = text_of(entry.get("name")) or location.rsplit(_MARKER, 1)[1]
        found.append(
            Dependency(
                ecosystem=Ecosystem.NPM,
                name=name,
                version=_version(entry.get("version")),
                source=source,
                line=finder.first(f'"{location}": {{'),
                is_direct=location == f"{_MARKER}{name}" and name in direct,
                is_dev=bool(entry.get("dev")) or bool(entry.get("devOptional")),
                licenses=_licenses(entry),
            )
        )
    return found


def _read_v1(
    dependencies: dict[str, Any],
    source: str,
    finder: LineFinder,
    direct: set[str] | None,
    *,
    depth: int,
) -> list[Dependency]:
    if depth > MAX_DEPTH:
        raise invalid(source, None, f"nests dependencies deeper than {MAX_DEPTH} levels")
    found = []
    for name, entry in dependencies.items():
        if not isinstance(entry, dict):
            continue
        found.append(
            Dependency(
                ecosystem=Ecosystem.NPM,
                name=name,
                version=_version(entry.get("version")),
                source=source,
                line=finder.first(f'"{name}": {{'),
                is_direct=None if direct is None else (depth == 0 and name in direct),
                is_dev=bool(entry.get("dev")),
            )
        )
        nested = entry.get("dependencies")
        if isinstance(nested, dict):
            found.extend(_read_v1(nested, source, finder, direct, depth=depth + 1))
    return found


def _version(value: object) -> str | None:
    version = text_of(value)
    if version is None or ":" in version or "/" in version:
        return None  # a tarball URL, a git reference or a file: path
    return version


def _licenses(entry: dict[str, Any]) -> tuple[str, ...]:
    declared = entry.get("license")
    if isinstance(declared, str) and declared:
        return (declared[:200],)
    if isinstance(declared, dict) and isinstance(declared.get("type"), str):
        return (declared["type"][:200],)
    legacy = entry.get("licenses")
    if isinstance(legacy, list):
        return tuple(
            str(item["type"])[:200]
            for item in legacy[:20]
            if isinstance(item, dict) and isinstance(item.get("type"), str)
        )
    return ()


def _manifest_names(path: Path) -> set[str] | None:
    """Names package.json depends on directly, or None without a readable one."""
    if not path.is_file():
        return None
    try:
        document = load_json(read_text(path, path.name), path.name)
    except ValidationFailed:
        return None
    runtime, dev = manifest_dependencies(document)
    return runtime | dev


def manifest_dependencies(document: object) -> tuple[set[str], set[str]]:
    """(runtime, development) dependency names of a parsed package.json."""
    if not isinstance(document, dict):
        return set(), set()
    runtime: set[str] = set()
    for key in ("dependencies", "optionalDependencies", "peerDependencies"):
        if isinstance(document.get(key), dict):
            runtime |= set(document[key])
    dev = (
        set(document["devDependencies"])
        if isinstance(document.get("devDependencies"), dict)
        else set()
    )
    return runtime, dev
