"""The syntax tree of an expression: small immutable nodes that remember where they start.

Every node keeps the 0-based offset of its first character in the parsed text so an
evaluation error can point at the call or value that failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any  # None, bool, int, float or str
    offset: int


@dataclass(frozen=True, slots=True)
class ContextRef:
    """A top-level name such as ``github`` or ``steps``."""

    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class Property:
    """``target.name``"""

    target: Node
    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class Index:
    """``target[index]``"""

    target: Node
    index: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``target.*`` or ``target[*]``: the object filter."""

    target: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Compare:
    operator: str  # == != < <= > >=
    left: Node
    right: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Logical:
    """A chain of ``&&`` or of ``||``; GitHub flattens ``a && b && c`` into one node too."""

    operator: str  # && or ||
    operands: tuple[Node, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # as the function table spells it, whatever the case in the source
    arguments: tuple[Node, ...]
    offset: int


Node = Literal | ContextRef | Property | Index | Wildcard | Not | Compare | Logical | Call


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Property(target=target) | Wildcard(target=target):
            return (target,)
        case Index(target=target, index=index):
            return (target, index)
        case Not(operand=operand):
            return (operand,)
        case Compare(left=left, right=right):
            return (left, right)
        case Logical(operands=operands):
            return operands
        case Call(arguments=arguments):
            return arguments
    return ()


def walk(root: Node) -> Iterator[tuple[Node, int]]:
    """Every node with its depth (the root is 1), without recursion: the tree may be deep."""
    pending = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        yield node, depth
        pending.extend((child, depth + 1) for child in children(node))
