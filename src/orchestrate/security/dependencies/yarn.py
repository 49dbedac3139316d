"""``yarn.lock``: classic (v1, its own line format) and Berry (v2+, YAML).

Classic entries are a header of comma-separated specifiers (``"a@^1", a@~1.2:``) and
indented ``key "value"`` lines; a small line parser reads them (no regex that can
backtrack over a hostile line). Berry's file is YAML with a ``__metadata`` key; each
entry's ``resolution`` (``lodash@npm:4.17.21``) names the package, and workspace, link
and portal entries are the project's own. Neither format says which packages are
direct or dev: ``package.json`` beside the lock does.
"""

from __future__ import annotations

import json
from pathlib import Path

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from orchestrate.core.bounded_yaml import YamlLimits, load_bounded
from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies._input import (
    MAX_FILE_BYTES,
    invalid,
    load_json,
    read_text,
    relative,
)
from orchestrate.security.dependencies.npm import manifest_dependencies
from orchestrate.security.models import Dependency, Ecosystem

_LOCAL_PROTOCOLS = ("workspace:", "link:", "portal:", "file:")
_BERRY_LIMITS = YamlLimits(max_bytes=MAX_FILE_BYTES, max_depth=16, max_nodes=5_000_000)


def read(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    text = read_text(path, source)
    runtime, dev = _manifest(path.parent / "package.json")
    has_manifest = bool(runtime or dev)
    is_berry = text.startswith("__metadata:") or "\n__metadata:" in text
    entries = _berry(text, source) if is_berry else _classic(text, source)
    return [
        Dependency(
            ecosystem=Ecosystem.NPM,
            name=name,
            version=version,
            source=source,
            line=line,
            is_direct=(name in runtime or name in dev) if has_manifest else None,
            is_dev=name in dev and name not in runtime,
        )
        for name, version, line in entries
    ]


def package_name(specifier: str) -> str:
    """``@scope/name@^1`` → ``@scope/name``; ``name@npm:^1`` → ``name``."""
    at = specifier.find("@", 1)
    return specifier if at < 0 else specifier[:at]


def _classic(text: str, source: str) -> list[tuple[str, str | None, int]]:
    found: list[tuple[str, str | None, int]] = []
    header: tuple[str, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if not line.rstrip().endswith(":"):
                raise invalid(source, number, "has an entry header that does not end with ':'")
            first = line.rstrip()[:-1].split(",", 1)[0].strip().strip('"')
            if not first or "@" not in first[1:]:
                raise invalid(
                    source, number, f"has an entry header without a version range: {first[:80]!r}"
                )
            header = (package_name(first), number)
            continue
        stripped = line.strip()
        if header is not None and line.startswith("  ") and not line.startswith("    "):
            key, _, value = stripped.partition(" ")
            if key == "version":
                found.append((header[0], _unquote(value, source, number), header[1]))
                header = None
    return found


def _unquote(value: str, source: str, number: int) -> str:
    value = value.strip()
    if value.startswith('"'):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError as error:
            raise invalid(source, number, "has a badly quoted version") from error
        return str(decoded)
    return value


def _berry(text: str, source: str) -> list[tuple[str, str | None, int]]:
    try:
        document = load_bounded(text, typ="rt", limits=_BERRY_LIMITS)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise invalid(
            source, line, f"is not valid YAML ({str(error).splitlines()[0][:200]})"
        ) from error
    if not isinstance(document, CommentedMap):
        raise invalid(source, 1, "is not a YAML mapping of entries")
    found: list[tuple[str, str | None, int]] = []
    for key, entry in document.items():
        if key == "__metadata" or not isinstance(entry, dict):
            continue
        resolution = entry.get("resolution")
        if not isinstance(resolution, str):
            continue
        name = package_name(resolution)
        reference = resolution[len(name) + 1 :]
        if reference.startswith(_LOCAL_PROTOCOLS):
            continue
        version = entry.get("version")
        line = document.lc.key(key)[0] + 1
        found.append((name, str(version) if version is not None else None, line))
    return found


def _manifest(path: Path) -> tuple[set[str], set[str]]:
    if not path.is_file():
        return set(), set()
    try:
        return manifest_dependencies(load_json(read_text(path, path.name), path.name))
    except ValidationFailed:
        return set(), set()
