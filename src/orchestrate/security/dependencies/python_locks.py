"""Python lockfiles: ``poetry.lock``, ``uv.lock`` (TOML) and ``Pipfile.lock`` (JSON).

Which packages are direct comes from the manifest beside the lock when there is one
(``pyproject.toml``, ``Pipfile``), else from the lock itself (uv's root package lists
its dependencies); the project's own packages (uv's editable/virtual sources) are not
dependencies.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies._input import (
    LineFinder,
    invalid,
    load_json,
    load_toml,
    read_text,
    relative,
    text_of,
)
from orchestrate.security.dependencies.naming import normalise_name
from orchestrate.security.models import Dependency, Ecosystem

_NAME_KEY = re.compile(r'^name\s*=\s*"([^"]{1,300})"\s*$')
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]{0,200})")
_LOCAL_SOURCES = ("editable", "virtual", "directory", "path")
_POETRY_LOCAL_TYPES = ("directory", "file")


def _pep503(name: str) -> str:
    return normalise_name(Ecosystem.PYPI, name)


def read_poetry(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    text = read_text(path, source)
    packages = load_toml(text, source).get("package", [])
    if not isinstance(packages, list):
        raise invalid(source, None, "'package' is not a list of tables")
    lines = LineFinder(text).blocks("[[package]]", _NAME_KEY)
    direct, dev = _pyproject_names(path.parent / "pyproject.toml")
    found = []
    for index, package in enumerate(packages):
        name, version = _name_version(package, source)
        origin = package.get("source")
        if isinstance(origin, dict) and origin.get("type") in _POETRY_LOCAL_TYPES:
            continue  # a folder or file of the project's own, not a release
        key = _pep503(name)
        groups = package.get("groups")
        is_dev = package.get("category") == "dev" or (
            isinstance(groups, list) and bool(groups) and "main" not in groups
        )
        found.append(
            Dependency(
                ecosystem=Ecosystem.PYPI,
                name=key,
                version=version,
                source=source,
                line=lines[index][1] if index < len(lines) else None,
                is_direct=(key in direct or key in dev) if (direct or dev) else None,
                is_dev=is_dev or (key in dev and key not in direct),
            )
        )
    return found


def read_uv(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    text = read_text(path, source)
    packages = load_toml(text, source).get("package", [])
    if not isinstance(packages, list):
        raise invalid(source, None, "'package' is not a list of tables")
    lines = LineFinder(text).blocks("[[package]]", _NAME_KEY)
    direct: set[str] = set()
    dev: set[str] = set()
    for package in packages:
        if isinstance(package, dict) and _is_local(package):
            direct |= _listed(package.get("dependencies"))
            optional = package.get("optional-dependencies")
            for group in optional.values() if isinstance(optional, dict) else ():
                direct |= _listed(group)
            dev_groups = package.get("dev-dependencies")
            for group in dev_groups.values() if isinstance(dev_groups, dict) else ():
                dev |= _listed(group)
    found = []
    for index, package in enumerate(packages):
        name, version = _name_version(package, source)
        if _is_local(package):
            continue
        key = _pep503(name)
        found.append(
            Dependency(
                ecosystem=Ecosystem.PYPI,
                name=key,
                version=version,
                source=source,
                line=lines[index][1] if index < len(lines) else None,
                is_direct=key in direct or key in dev,
                is_dev=key in dev and key not in direct,
            )
        )
    return found


def read_pipfile_lock(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    text = read_text(path, source)
    document = load_json(text, source)
    if not isinstance(document, dict):
        raise invalid(source, 1, "is not a JSON object")
    direct, dev_direct = _pipfile_names(path.parent / "Pipfile")
    finder = LineFinder(text)
    found = []
    for section, is_dev in (("default", False), ("develop", True)):
        entries = document.get(section) or {}
        if not isinstance(entries, dict):
            raise invalid(source, finder.first(f'"{section}"'), f"'{section}' is not an object")
        for raw_name, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            version = text_of(entry.get("version"))
            key = _pep503(raw_name)
            names = direct | dev_direct
            found.append(
                Dependency(
                    ecosystem=Ecosystem.PYPI,
                    name=key,
                    version=version.removeprefix("===").removeprefix("==") if version else None,
                    source=source,
                    line=finder.first(f'"{raw_name}": {{'),
                    is_direct=(key in names) if names else None,
                    is_dev=is_dev,
                )
            )
    return found


def _name_version(package: object, source: str) -> tuple[str, str | None]:
    if not isinstance(package, dict) or text_of(package.get("name")) is None:
        raise invalid(source, None, "has a [[package]] without a name")
    return str(package["name"]), text_of(package.get("version"))


def _is_local(package: dict[str, Any]) -> bool:
    origin = package.get("source")
    return isinstance(origin, dict) and any(key in origin for key in _LOCAL_SOURCES)


def _listed(value: object) -> set[str]:
    if not isinstance(value, list):
        return set()
    return {
        _pep503(str(item["name"]))
        for item in value
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    }


def _pyproject_names(path: Path) -> tuple[set[str], set[str]]:
    """Direct (runtime) and dev dependency names a pyproject.toml declares."""
    if not path.is_file():
        return set(), set()
    try:
        document = load_toml(read_text(path, path.name), path.name)
    except ValidationFailed:  # a broken manifest only loses the direct flag
        return set(), set()
    project = _table(document.get("project"))
    poetry = _table(_table(document.get("tool")).get("poetry"))
    direct = {_requirement_name(item) for item in project.get("dependencies", []) or []}
    for group in (project.get("optional-dependencies") or {}).values():
        direct |= {_requirement_name(item) for item in group if isinstance(item, str)}
    if poetry:
        direct |= {_pep503(name) for name in (poetry.get("dependencies") or {}) if name != "python"}
    dev: set[str] = set()
    for group in (document.get("dependency-groups") or {}).values():
        dev |= {_requirement_name(item) for item in group if isinstance(item, str)}
    if isinstance(poetry, dict):
        dev |= {_pep503(name) for name in (poetry.get("dev-dependencies") or {})}
        for group in (poetry.get("group") or {}).values():
            if isinstance(group, dict):
                dev |= {_pep503(name) for name in (group.get("dependencies") or {})}
    return direct - {""}, dev - {""}


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pipfile_names(path: Path) -> tuple[set[str], set[str]]:
    if not path.is_file():
        return set(), set()
    try:
        document = load_toml(read_text(path, path.name), path.name)
    except ValidationFailed:  # a broken manifest only loses the direct flag
        return set(), set()
    return (
        {_pep503(name) for name in document.get("packages") or {}},
        {_pep503(name) for name in document.get("dev-packages") or {}},
    )


def _requirement_name(item: object) -> str:
    match = _REQUIREMENT_NAME.match(item) if isinstance(item, str) else None
    return _pep503(match.group(1)) if match else ""
