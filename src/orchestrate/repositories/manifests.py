"""Reading a work tree's package manifests: the packages it is, the packages it needs.

Four manifests at the top of the work tree are read, each with the standard parser
where there is one (``tomllib``, ``json``) and by hand for ``go.mod``'s line format:

- ``pyproject.toml``: ``project.name``; PEP 621 ``dependencies`` and
  ``optional-dependencies`` (a ``name @ URL`` direct reference gives a URL), and
  Poetry's ``tool.poetry`` name and dependency tables (``git``/``path``/``url`` keys);
- ``package.json``: ``name``; ``dependencies``, ``devDependencies``,
  ``peerDependencies``, ``optionalDependencies`` (``file:``/``link:`` paths, git URLs,
  ``github:owner/name`` and ``owner/name`` shorthands, ``npm:`` aliases);
- ``Cargo.toml``: ``[package] name``; every ``dependencies`` table (dev, build, per
  target, the workspace's), with ``package`` renames, ``path`` and ``git``;
- ``go.mod``: ``module``; ``require`` lines and blocks, and ``replace`` with a local path.

A manifest is untrusted input (a clone of anyone's repository): each is read only when
under ``MANIFEST_MAX_BYTES``, and one that does not parse is reported, never raised.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

MANIFEST_MAX_BYTES: Final = 1024 * 1024


class Ecosystem(StrEnum):
    PYTHON = "python"
    NPM = "npm"
    CARGO = "cargo"
    GO = "go"


@dataclass(frozen=True)
class PackageName:
    """A package a repository publishes, as its manifest names it."""

    ecosystem: Ecosystem
    name: str
    manifest: str


@dataclass(frozen=True)
class Requirement:
    """One dependency a manifest lists: by package name, git URL or local path."""

    ecosystem: Ecosystem
    manifest: str
    name: str | None = None
    url: str | None = None
    path: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.url or self.path or "?"


@dataclass(frozen=True)
class Manifests:
    packages: tuple[PackageName, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    problems: tuple[str, ...] = ()


def normalise_package(ecosystem: Ecosystem, name: str) -> str:
    """The form two spellings of one package share (PEP 503 for Python, '-'='_' for crates)."""
    if ecosystem is Ecosystem.PYTHON:
        return re.sub(r"[-_.]+", "-", name).lower()
    if ecosystem is Ecosystem.CARGO:
        return name.replace("_", "-").lower()
    if ecosystem is Ecosystem.NPM:
        return name.lower()
    return name


def read_manifests(root: Path) -> Manifests:
    """Every package and requirement the manifests at the top of ``root`` declare."""
    packages: list[PackageName] = []
    requirements: list[Requirement] = []
    problems: list[str] = []
    for file_name, reader in _READERS.items():
        path = root / file_name
        if not path.is_file():
            continue
        try:
            if path.stat().st_size > MANIFEST_MAX_BYTES:
                problems.append(f"{file_name} is larger than {MANIFEST_MAX_BYTES} bytes; skipped")
                continue
            text = path.read_text(encoding="utf-8")
            found_packages, found_requirements = reader(text)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
            problems.append(f"{file_name} could not be read: {error}")
            continue
        packages.extend(found_packages)
        requirements.extend(found_requirements)
    return Manifests(tuple(packages), tuple(requirements), tuple(problems))


_Found = tuple[list[PackageName], list[Requirement]]


# --- pyproject.toml ---------------------------------------------------------------

_PYPROJECT: Final = "pyproject.toml"
_PEP508_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_PEP508_URL = re.compile(r"^[^@;]*@\s*([^\s;]+)")


def _read_pyproject(text: str) -> _Found:
    document = tomllib.loads(text)
    project = _table(document.get("project"))
    poetry = _table(_table(document.get("tool")).get("poetry"))
    packages = [
        PackageName(Ecosystem.PYTHON, name, _PYPROJECT)
        for name in {_string(project.get("name")), _string(poetry.get("name"))}
        if name
    ]
    requirements = [_pep508(line) for line in _strings(project.get("dependencies"))]
    for extra in _table(project.get("optional-dependencies")).values():
        requirements.extend(_pep508(line) for line in _strings(extra))
    for table in _poetry_dependency_tables(poetry):
        requirements.extend(
            _poetry_requirement(name, spec) for name, spec in table.items() if name != "python"
        )
    return packages, [r for r in requirements if r is not None]


def _pep508(line: str) -> Requirement | None:
    name = _PEP508_NAME.match(line)
    if name is None:
        return None
    url = _PEP508_URL.match(line)
    return Requirement(
        Ecosystem.PYTHON, _PYPROJECT, name=name.group(1), url=url.group(1) if url else None
    )


def _poetry_dependency_tables(poetry: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield _table(poetry.get("dependencies"))
    yield _table(poetry.get("dev-dependencies"))
    for group in _table(poetry.get("group")).values():
        yield _table(_table(group).get("dependencies"))


def _poetry_requirement(name: str, spec: object) -> Requirement:
    if isinstance(spec, list):
        spec = next((item for item in spec if isinstance(item, dict)), None)
    details = _table(spec)
    return Requirement(
        Ecosystem.PYTHON,
        _PYPROJECT,
        name=name,
        url=_string(details.get("git")) or _string(details.get("url")),
        path=_string(details.get("path")),
    )


# --- package.json -----------------------------------------------------------------

_PACKAGE_JSON: Final = "package.json"
_NPM_SECTIONS: Final = (
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
)
_GITHUB_SHORTHAND = re.compile(r"^(?:github:)?([\w.-]+/[\w.-]+)(?:#.*)?$")
_GITLAB_SHORTHAND = re.compile(r"^gitlab:([\w.-]+/[\w.-]+)(?:#.*)?$")


def _read_package_json(text: str) -> _Found:
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError("the top level is not an object")
    name = _string(document.get("name"))
    packages = [PackageName(Ecosystem.NPM, name, _PACKAGE_JSON)] if name else []
    requirements = [
        _npm_requirement(dependency, spec)
        for section in _NPM_SECTIONS
        for dependency, spec in _table(document.get(section)).items()
    ]
    return packages, requirements


def _npm_requirement(name: str, spec: object) -> Requirement:
    value = spec.strip() if isinstance(spec, str) else ""
    if value.startswith(("file:", "link:")):
        return Requirement(Ecosystem.NPM, _PACKAGE_JSON, name=name, path=value.split(":", 1)[1])
    if value.startswith("npm:"):
        alias = value.removeprefix("npm:")
        real = alias.rsplit("@", 1)[0] if alias.rfind("@") > 0 else alias
        return Requirement(Ecosystem.NPM, _PACKAGE_JSON, name=real)
    if value.startswith(("git+", "git://", "git@")) or "://" in value:
        return Requirement(Ecosystem.NPM, _PACKAGE_JSON, name=name, url=value)
    if shorthand := _GITLAB_SHORTHAND.match(value):
        url = f"https://gitlab.com/{shorthand.group(1)}"
        return Requirement(Ecosystem.NPM, _PACKAGE_JSON, name=name, url=url)
    if shorthand := _GITHUB_SHORTHAND.match(value):
        url = f"https://github.com/{shorthand.group(1)}"
        return Requirement(Ecosystem.NPM, _PACKAGE_JSON, name=name, url=url)
    return Requirement(Ecosystem.NPM, _PACKAGE_JSON, name=name)


# --- Cargo.toml -------------------------------------------------------------------

_CARGO: Final = "Cargo.toml"
_CARGO_SECTIONS: Final = ("dependencies", "dev-dependencies", "build-dependencies")


def _read_cargo(text: str) -> _Found:
    document = tomllib.loads(text)
    name = _string(_table(document.get("package")).get("name"))
    packages = [PackageName(Ecosystem.CARGO, name, _CARGO)] if name else []
    tables = [_table(document.get(section)) for section in _CARGO_SECTIONS]
    for target in _table(document.get("target")).values():
        tables.extend(_table(_table(target).get(section)) for section in _CARGO_SECTIONS)
    tables.append(_table(_table(document.get("workspace")).get("dependencies")))
    requirements = [
        _cargo_requirement(key, spec) for table in tables for key, spec in table.items()
    ]
    return packages, requirements


def _cargo_requirement(key: str, spec: object) -> Requirement:
    details = _table(spec)
    return Requirement(
        Ecosystem.CARGO,
        _CARGO,
        name=_string(details.get("package")) or key,
        url=_string(details.get("git")),
        path=_string(details.get("path")),
    )


# --- go.mod -----------------------------------------------------------------------

_GO_MOD: Final = "go.mod"


def _read_go_mod(text: str) -> _Found:
    packages: list[PackageName] = []
    requirements: list[Requirement] = []
    block: str | None = None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
            else:
                _go_directive(block, line.split(), packages, requirements)
            continue
        directive, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest == "(":
            block = directive
        elif rest:
            _go_directive(directive, rest.split(), packages, requirements)
    return packages, requirements


def _go_directive(
    directive: str, words: list[str], packages: list[PackageName], requirements: list[Requirement]
) -> None:
    words = [word.strip('"`') for word in words]
    if directive == "module" and words:
        packages.append(PackageName(Ecosystem.GO, words[0], _GO_MOD))
    elif directive == "require" and words:
        requirements.append(Requirement(Ecosystem.GO, _GO_MOD, name=words[0]))
    elif directive == "replace" and "=>" in words:
        old, new = words[0], words[words.index("=>") + 1 :]
        if new and new[0].startswith(("./", "../", "/")):
            requirements.append(Requirement(Ecosystem.GO, _GO_MOD, name=old, path=new[0]))


# --- shared -----------------------------------------------------------------------


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _string(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


_READERS: Final = {
    _PYPROJECT: _read_pyproject,
    _PACKAGE_JSON: _read_package_json,
    _CARGO: _read_cargo,
    _GO_MOD: _read_go_mod,
}
