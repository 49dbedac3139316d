"""pip requirements and constraints files.

Only an exact pin (``==1.2.3`` or ``===1.2.3``) gives a version; a range leaves it
``None`` (licences can still be checked, advisories cannot be matched exactly). Hashes,
environment markers and extras are read past. ``-r``/``-c`` includes are followed when
they stay inside the scanned root (a cycle is read once); URLs, local paths and
editables are skipped and logged with the reason, since they name no released version.
The line parser is ``packaging``'s requirement tokenizer, which does not backtrack.
"""

from __future__ import annotations

import re
from pathlib import Path

import structlog
from packaging.requirements import InvalidRequirement, Requirement

from orchestrate.security.dependencies._input import invalid, read_text, relative
from orchestrate.security.dependencies.naming import normalise_name
from orchestrate.security.models import Dependency, Ecosystem

log = structlog.get_logger(__name__)

MAX_LINE = 10_000
MAX_INCLUDE_DEPTH = 10
_COMMENT = re.compile(r"(^|\s)#.*$")
_HASH_OPTION = re.compile(r"\s--hash[=\s]\S*")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)$")
_EDITABLE = re.compile(r"^(-e|--editable)\b")
_URL_LIKE = re.compile(r"^(\.{0,2}/|[a-z][a-z0-9+.-]*://|[a-z]+\+[a-z]+:)", re.IGNORECASE)
_DEV_NAME = re.compile(r"(dev|test|lint|doc|ci)", re.IGNORECASE)
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2")


def is_requirements_file(path: Path) -> bool:
    name = path.name.lower()
    if not name.endswith(".txt"):
        return False
    return (
        "requirements" in name
        or name.startswith("constraints")
        or path.parent.name.lower() == "requirements"
    )


def read(path: Path, root: Path) -> list[Dependency]:
    return _read(path, root, is_constraints=path.name.lower().startswith("constraints"), seen=set())


def _read(path: Path, root: Path, *, is_constraints: bool, seen: set[Path]) -> list[Dependency]:
    resolved = path.resolve()
    if resolved in seen or len(seen) > MAX_INCLUDE_DEPTH * 10:
        return []
    seen.add(resolved)
    source = relative(path, root)
    is_dev = bool(_DEV_NAME.search(path.name))
    found: list[Dependency] = []
    for number, line in _logical_lines(read_text(path, source), source):
        include = _INCLUDE.match(line)
        if include:
            target = _included(path, root, include.group(2), source, number)
            if target is not None:
                found.extend(
                    _read(
                        target,
                        root,
                        is_constraints=include.group(1) in ("-c", "--constraint") or is_constraints,
                        seen=seen,
                    )
                )
            continue
        if line.startswith("-"):
            if _EDITABLE.match(line):
                log.info("requirement_skipped", source=source, line=number, reason="editable")
            continue  # other options: index URLs, --pre, --require-hashes, ...
        dependency = _requirement(
            line, source, number, is_constraints=is_constraints, is_dev=is_dev
        )
        if dependency is not None:
            found.append(dependency)
    return found


def _logical_lines(text: str, source: str) -> list[tuple[int, str]]:
    """(first physical line, the line with continuations joined and comments removed)."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if len(raw) > MAX_LINE:
            raise invalid(source, number, f"has a line longer than {MAX_LINE} characters")
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        joined = " ".join(pending)
        pending = []
        cleaned = _COMMENT.sub("", joined).strip()
        if cleaned:
            lines.append((start, cleaned))
    if pending:
        cleaned = _COMMENT.sub("", " ".join(pending)).strip()
        if cleaned:
            lines.append((start, cleaned))
    return lines


def _included(path: Path, root: Path, target: str, source: str, number: int) -> Path | None:
    candidate = (path.parent / target).resolve()
    if not candidate.is_relative_to(root.resolve()):
        log.warning("requirement_include_outside_root", source=source, line=number, target=target)
        return None
    if not candidate.is_file():
        log.warning("requirement_include_missing", source=source, line=number, target=target)
        return None
    return candidate


def _requirement(
    line: str, source: str, number: int, *, is_constraints: bool, is_dev: bool
) -> Dependency | None:
    first_word = line.split(maxsplit=1)[0].lower()
    if _URL_LIKE.match(line) or first_word.endswith(_ARCHIVE_SUFFIXES):
        log.info("requirement_skipped", source=source, line=number, reason="a URL or path")
        return None
    text = _HASH_OPTION.sub("", f" {line}").strip()
    text = text.split(" --", 1)[0].strip()  # per-requirement options such as --config-settings
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise invalid(source, number, f"is not a valid requirement ({error})") from error
    if requirement.url:
        log.info("requirement_skipped", source=source, line=number, reason="a direct URL")
        return None
    return Dependency(
        ecosystem=Ecosystem.PYPI,
        name=normalise_name(Ecosystem.PYPI, requirement.name),
        version=_pinned(requirement),
        source=source,
        line=number,
        is_direct=None if is_constraints else True,
        is_dev=is_dev,
    )


def _pinned(requirement: Requirement) -> str | None:
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1:
        return None
    only = specifiers[0]
    if only.operator == "===" or (only.operator == "==" and "*" not in only.version):
        return only.version
    return None
