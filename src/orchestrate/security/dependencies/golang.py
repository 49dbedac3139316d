"""``go.sum``, with ``go.mod`` beside it for which modules are direct.

A ``go.sum`` line is ``module version hash``; a ``version/go.mod`` line only records the
module's go.mod file, downloaded to compute the build list, so it is not a build
dependency. go.sum keeps hashes of versions no longer selected; when ``go.mod``
requires a module (Go 1.17 lists every module of the build), its version there is the
one built, and the others are dropped. A requirement without ``// indirect`` is direct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies._input import invalid, read_text, relative
from orchestrate.security.models import Dependency, Ecosystem

_GO_MOD_SUFFIX = "/go.mod"
_HASH = re.compile(r"h\d{1,3}:")


@dataclass(frozen=True, slots=True)
class Required:
    version: str
    is_indirect: bool


def read(path: Path, root: Path) -> list[Dependency]:
    source = relative(path, root)
    required = _go_mod(path.parent / "go.mod")
    found: dict[tuple[str, str], Dependency] = {}
    for number, line in enumerate(read_text(path, source).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not _HASH.match(fields[2]):
            raise invalid(source, number, "is not a 'module version h1:hash' line")
        module, version = fields[0], fields[1]
        if version.endswith(_GO_MOD_SUFFIX):
            continue
        listed = required.get(module)
        if listed is not None and listed.version != version:
            continue
        found.setdefault(
            (module, version),
            Dependency(
                ecosystem=Ecosystem.GO,
                name=module,
                version=version,
                source=source,
                line=number,
                is_direct=None if not required else (listed is not None and not listed.is_indirect),
            ),
        )
    return list(found.values())


def _go_mod(path: Path) -> dict[str, Required]:
    """The modules go.mod requires, or nothing without a readable go.mod."""
    if not path.is_file():
        return {}
    try:
        text = read_text(path, path.name)
    except ValidationFailed:
        return {}
    required: dict[str, Required] = {}
    in_block = False
    for raw in text.splitlines():
        line, _, comment = raw.partition("//")
        fields = line.split()
        if in_block:
            if fields[:1] == [")"]:
                in_block = False
                continue
        elif fields[:2] == ["require", "("]:
            in_block = True
            continue
        elif fields[:1] == ["require"]:
            fields = fields[1:]
        else:
            continue
        if len(fields) == 2:
            required[fields[0]] = Required(fields[1], "indirect" in comment.split())
    return required
