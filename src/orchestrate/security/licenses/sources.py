"""Where a dependency's licence is read when its lockfile did not say.

- PyPI: the installed distributions of a Python environment (site-packages paths given
  by the caller, else the current interpreter's), through importlib.metadata:
  ``License-Expression`` (PEP 639), then the ``License`` field, then trove classifiers.
- npm: ``node_modules/<name>/package.json`` under the scanned root.
- crates.io: ``Cargo.toml`` of the crate's source in Cargo's registry cache
  (``$CARGO_HOME/registry/src/*/<name>-<version>/``).
- Go: the LICENSE file of the module in the module cache (``$GOMODCACHE``, else
  ``$GOPATH/pkg/mod``, else ``~/go/pkg/mod``), recognised by text.

Every file read here belongs to someone else's package: sizes are capped, names are
checked before they become paths, and nothing escapes its cache or node_modules.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from orchestrate.security.licenses._text_match import license_from_text
from orchestrate.security.licenses.models import ResolvedLicense
from orchestrate.security.licenses.spdx import MAX_EXPRESSION_CHARS, normalise_license
from orchestrate.security.models import Dependency

_MAX_FILE_BYTES = 1_000_000
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$", re.IGNORECASE)
_CRATE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9.+_~-]{1,100}$")
_GO_MODULE = re.compile(r"^[A-Za-z0-9._~/-]{1,300}$")
_LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING", "LICENSE-MIT")


def from_expression_texts(texts: Iterable[str], origin: str) -> ResolvedLicense:
    """Several licence strings of one package (a lockfile's list, npm's legacy
    ``licenses``, trove classifiers) mean a choice: they are joined with OR once each is
    normalised. One that cannot be normalised is dropped when another can (the user may
    choose the known one); when none can, the licence is unknown."""
    raws = [t for t in texts if t.strip()]
    raw = " | ".join(raws)
    unique = list(dict.fromkeys(n for t in raws if (n := normalise_license(t))))
    if not unique:
        return ResolvedLicense(None, raw, origin)
    expression = unique[0] if len(unique) == 1 else " OR ".join(f"({n})" for n in unique)
    return ResolvedLicense(normalise_license(expression) or expression, raw, origin)


class PythonEnvironment:
    """The installed distributions of one or more site-packages folders, by PEP 503 name."""

    def __init__(self, paths: Sequence[Path] | None) -> None:
        found = (
            metadata.distributions(path=[str(p) for p in paths])
            if paths is not None
            else metadata.distributions()
        )
        self._by_name: dict[str, list[metadata.Distribution]] = {}
        for distribution in found:
            name = _field(distribution.metadata, "Name") if distribution.metadata else None
            if name:
                self._by_name.setdefault(_pep503(name), []).append(distribution)

    def license_of(self, dependency: Dependency) -> ResolvedLicense | None:
        candidates = self._by_name.get(_pep503(dependency.name), [])
        if not candidates:
            return None
        exact = [d for d in candidates if d.version == dependency.version]
        distribution = (exact or candidates)[0]
        name = _field(distribution.metadata, "Name")
        origin = f"installed metadata of {name} {distribution.version}"
        return _license_from_metadata(distribution.metadata, origin)


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _field(fields: metadata.PackageMetadata, name: str) -> str:
    """One metadata field, empty when absent (``[]`` of a missing field is deprecated)."""
    values = fields.get_all(name) or []
    return str(values[0]) if values else ""


def _license_from_metadata(fields: metadata.PackageMetadata, origin: str) -> ResolvedLicense:
    expression = _field(fields, "License-Expression")
    if expression:
        return ResolvedLicense(normalise_license(str(expression)), str(expression), origin)
    license_field = _field(fields, "License").strip()
    if license_field and license_field.upper() not in {"UNKNOWN", "NONE"}:
        if len(license_field) <= MAX_EXPRESSION_CHARS:
            spdx = normalise_license(license_field)
        else:
            spdx = license_from_text(license_field)
        if spdx:
            return ResolvedLicense(spdx, license_field[:200], origin)
    classifiers = [
        str(c) for c in fields.get_all("Classifier") or [] if str(c).startswith("License ::")
    ]
    if classifiers:
        return from_expression_texts(classifiers, origin)
    return ResolvedLicense(None, license_field[:200], origin)


def npm_license(root: Path, dependency: Dependency) -> ResolvedLicense | None:
    """From ``node_modules/<name>/package.json`` under ``root``, when it is there."""
    if not _NPM_NAME.match(dependency.name):
        return None
    path = root / "node_modules" / dependency.name / "package.json"
    document = _read_json(path, root / "node_modules")
    if not isinstance(document, dict):
        return None
    origin = f"{path.relative_to(root).as_posix()}"
    license_value = document.get("license")
    if isinstance(license_value, dict):
        license_value = license_value.get("type")
    if isinstance(license_value, str):
        return from_expression_texts([license_value], origin)
    legacy = document.get("licenses")
    if isinstance(legacy, list):
        types = [item.get("type") if isinstance(item, dict) else item for item in legacy]
        return from_expression_texts([t for t in types if isinstance(t, str)], origin)
    return ResolvedLicense(None, "", origin)


def crate_license(dependency: Dependency) -> ResolvedLicense | None:
    """From the crate's ``Cargo.toml`` in Cargo's registry source cache."""
    if not (dependency.version and _CRATE_NAME.match(dependency.name)):
        return None
    if not _SAFE_VERSION.match(dependency.version):
        return None
    cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    registry = cargo_home / "registry" / "src"
    if not registry.is_dir():
        return None
    folder = f"{dependency.name}-{dependency.version}"
    for index in sorted(registry.iterdir()):
        manifest = index / folder / "Cargo.toml"
        text = _read_text(manifest, registry)
        if text is None:
            continue
        try:
            package = tomllib.loads(text).get("package", {})
        except tomllib.TOMLDecodeError:
            return ResolvedLicense(None, "", str(manifest))
        license_value = package.get("license") if isinstance(package, dict) else None
        if isinstance(license_value, str):
            return from_expression_texts([license_value], str(manifest))
        license_file = package.get("license-file") if isinstance(package, dict) else None
        if isinstance(license_file, str):
            return _license_file(index / folder, registry, (license_file,))
        return ResolvedLicense(None, "", str(manifest))
    return None


def go_license(dependency: Dependency) -> ResolvedLicense | None:
    """From the LICENSE file of the module in Go's module cache, recognised by text."""
    if not (dependency.version and _GO_MODULE.match(dependency.name)):
        return None
    if ".." in dependency.name.split("/") or not _SAFE_VERSION.match(dependency.version):
        return None
    cache = _go_module_cache()
    folder = cache / f"{_go_escape(dependency.name)}@{_go_escape(dependency.version)}"
    if not folder.is_dir():
        return None
    return _license_file(folder, cache, _LICENSE_FILES)


def _go_module_cache() -> Path:
    if os.environ.get("GOMODCACHE"):
        return Path(os.environ["GOMODCACHE"])
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0]
    return Path(gopath) / "pkg" / "mod" if gopath else Path.home() / "go" / "pkg" / "mod"


def _go_escape(path: str) -> str:
    """The module cache's case encoding: an upper-case letter becomes ``!`` + lower."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


def _license_file(folder: Path, within: Path, names: Sequence[str]) -> ResolvedLicense | None:
    for name in names:
        path = folder / name
        text = _read_text(path, within)
        if text is not None:
            return ResolvedLicense(license_from_text(text), f"text of {name}", str(path))
    return None


def _read_text(path: Path, within: Path) -> str | None:
    """A small regular file that really is inside ``within`` (symlinks resolved)."""
    try:
        resolved = path.resolve()
        if not resolved.is_relative_to(within.resolve()) or not resolved.is_file():
            return None
        if resolved.stat().st_size > _MAX_FILE_BYTES:
            return None
        return resolved.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _read_json(path: Path, within: Path) -> object:
    text = _read_text(path, within)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
