"""Where each value of a pipeline file sits in the text, so problems can say ``file:line:col``.

The loader keeps ruamel.yaml's round-trip tree next to the validated model; a ``SourceMap``
answers "where is ``steps[2].with.task``?" from that tree. Paths use the YAML keys as
written (``if``, not the Python field name ``if_``) and list indexes, like pydantic's
error locations. A spec built in Python has no text: its map places everything at 1:1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrate.pipelines.spec.problems import SpecProblem

Path = tuple[str | int, ...]


def _lc_pair(container: Any, kind: str, key: Any) -> tuple[int, int] | None:
    """ruamel's 0-based ``(line, column)`` of a key, value or item, if it recorded one.

    Keys pulled in by a ``<<:`` merge have no position of their own.
    """
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        line, column = getattr(lc, kind)(key)
    except (KeyError, IndexError, TypeError):
        return None
    return int(line), int(column)


def _child(node: Any, part: str | int) -> tuple[bool, Any, Any]:
    """``(found, key as stored, child)`` of one path step; keys may be non-strings in YAML."""
    if isinstance(node, Mapping):
        for key in node:
            if key == part or str(key) == str(part):
                return True, key, node[key]
    elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, part, node[part]
    return False, None, None


class SourceMap:
    """Positions of the nodes of one parsed YAML document."""

    def __init__(self, source: str, text: str = "", root: Any = None) -> None:
        self.source = source
        self._lines = text.splitlines()
        self._root = root

    def resolve(self, path: Path) -> Path:
        """The longest prefix of ``path`` that exists in the document."""
        node, found = self._root, []
        for part in path:
            exists, _, child = _child(node, part)
            if not exists:
                break
            found.append(part)
            node = child
        return tuple(found)

    def node(self, path: Path) -> Any:
        """The value at ``path``, or None where the document has nothing there."""
        node = self._root
        for part in path:
            _, _, node = _child(node, part)
        return node

    def value_position(self, path: Path) -> tuple[int, int]:
        """1-based position of the value at ``path``, or of its closest existing ancestor.

        Scalars are found at their first character; a mapping or list that is the value
        of a key is found at that key, since that is where a reader looks for it.
        """
        path = self.resolve(path)
        if not path:
            return self._root_position()
        parent = self.node(path[:-1])
        last = path[-1]
        _, key, child = _child(parent, last)
        if isinstance(parent, Mapping):
            kind = "key" if isinstance(child, Mapping | list) else "value"
            position = _lc_pair(parent, kind, key)
        else:
            position = _lc_pair(parent, "item", key)
        return self._one_based(position) if position else self.value_position(path[:-1])

    def key_position(self, path: Path) -> tuple[int, int]:
        """1-based position of the key that ends ``path`` (for unknown keys)."""
        parent_path = path[:-1]
        if self.resolve(parent_path) == parent_path and path:
            _, key, _ = _child(self.node(parent_path), path[-1])
            if key is not None:
                position = _lc_pair(self.node(parent_path), "key", key)
                if position:
                    return self._one_based(position)
        return self.value_position(path)

    def expression_position(self, path: Path, offset: int) -> tuple[int, int]:
        """Where character ``offset`` of the string at ``path`` is in the file.

        Exact when the scalar is written on one line as it reads (plain, or quoted
        without escapes) or as a literal block (``run: |``); for folded and escaped
        scalars, the scalar's start is honest.
        """
        line, column = self.value_position(path)
        value = self.node(path)
        if not isinstance(value, str) or not 0 < line <= len(self._lines):
            return line, column
        if "\n" in value:
            return self._block_position(line, value, offset) or (line, column)
        written = self._lines[line - 1][column - 1 :]
        if written.startswith(value):
            return line, column + offset
        if written[:1] in ("'", '"') and written[1:].startswith(value):
            return line, column + 1 + offset
        if written[:1] == "|":
            return self._block_position(line, value, offset) or (line, column)
        return line, column

    def _block_position(self, line: int, value: str, offset: int) -> tuple[int, int] | None:
        """Character ``offset`` of a literal block scalar whose indicator is on ``line``."""
        wanted = value.split("\n")
        for start in range(line, min(line + 2, len(self._lines))):  # 0-based: next line
            first = self._lines[start]
            indent = len(first) - len(first.lstrip(" "))
            written = [text[indent:] for text in self._lines[start : start + len(wanted)]]
            if written and all(w == v for w, v in zip(written, wanted, strict=False) if v):
                row = value.count("\n", 0, offset)
                column = offset - (value.rfind("\n", 0, offset) + 1)
                return start + row + 1, indent + column + 1
        return None

    def problem(
        self,
        path: Path,
        message: str,
        hint: str | None = None,
        *,
        at_key: bool = False,
        offset: int | None = None,
    ) -> SpecProblem:
        """A problem placed at the value (default), the key, or a character of a string."""
        if offset is not None:
            line, column = self.expression_position(path, offset)
        elif at_key:
            line, column = self.key_position(path)
        else:
            line, column = self.value_position(path)
        return SpecProblem(self.source, line, column, message, hint)

    def _root_position(self) -> tuple[int, int]:
        lc = getattr(self._root, "lc", None)
        if lc is None or lc.line is None:
            return 1, 1
        return int(lc.line) + 1, int(lc.col) + 1

    @staticmethod
    def _one_based(position: tuple[int, int]) -> tuple[int, int]:
        return position[0] + 1, position[1] + 1
