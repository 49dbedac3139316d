"""YAML from users, read with limits on size, nesting depth and alias expansion.

ruamel.yaml composes an alias as a second reference to its anchor's node, so a
289-byte "billion laughs" document parses in milliseconds; the blow-up comes later,
when anything walks or copies the tree (the pipeline loader converts it to plain
values: 9⁸ items took 46 s and blocked the event loop). The composer below counts the
nodes a document stands for *with every alias expanded* and stops at a bound, and it
stops nesting before Python's recursion limit turns a 10,000-deep document into a
``RecursionError``. Both errors are ``MarkedYAMLError``s carrying the position of the
offending node, so callers report them like any other YAML syntax error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, StreamMark
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scanner import RoundTripScanner, Scanner

__all__ = [
    "DEFAULT_LIMITS",
    "FRONT_MATTER_LIMITS",
    "YamlLimitExceeded",
    "YamlLimits",
    "load_bounded",
]


@dataclass(frozen=True)
class YamlLimits:
    """How much one YAML document may hold; the defaults fit any hand-written file."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 100_000
    """Values in the document once every alias is expanded (keys count too)."""


DEFAULT_LIMITS = YamlLimits()
FRONT_MATTER_LIMITS = YamlLimits(max_bytes=64 * 1024, max_nodes=10_000)
"""For the few keys atop a Markdown file (agent types, stories)."""


class YamlLimitExceeded(MarkedYAMLError):
    """The document is too large, too deep or expands too far; ``problem_mark`` says where."""


def load_bounded(text: str, *, typ: str = "rt", limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """The document in ``text``, or ``YamlLimitExceeded`` (or any ruamel YAML error).

    ``typ`` is ruamel's: "rt" keeps line numbers, "safe" gives plain Python values.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_bytes:
        line = text.count("\n", 0, limits.max_bytes) + 1
        raise YamlLimitExceeded(
            problem=f"the document is {size} bytes, more than the limit of {limits.max_bytes}",
            problem_mark=StreamMark(None, limits.max_bytes, line - 1, 0),
        )
    return _BoundedYAML(typ, limits).load(text)


class _BoundedYAML(YAML):
    """A loader carrying its limits: ruamel hands its scanner and composer only the loader."""

    def __init__(self, typ: str, limits: YamlLimits) -> None:
        super().__init__(typ=typ, pure=True)
        self.orchestrate_limits = limits
        self.Scanner = _RoundTripScanner if self.Scanner is RoundTripScanner else _Scanner
        self.Composer = _BoundedComposer


class _FlowDepthLimit:
    """Refuse ``[[[[…`` as soon as it opens too many levels, before any lookahead.

    The scanner looks up to 1024 characters ahead for a possible ``key:`` at each open
    flow level, which is quadratic in the nesting: 10,000 ``[`` took 1.5 s of scanning
    before the composer saw its 65th level. Stopping at the bracket keeps it linear.
    """

    flow_context: list[str]
    reader: Any
    loader: Any

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:  # noqa: N803
        limits: YamlLimits = getattr(self.loader, "orchestrate_limits", DEFAULT_LIMITS)
        if len(self.flow_context) >= limits.max_depth:
            raise YamlLimitExceeded(
                problem=f"values nest more than {limits.max_depth} levels deep",
                problem_mark=self.reader.get_mark(),
            )
        super().fetch_flow_collection_start(TokenClass, to_push)  # type: ignore[misc]


class _RoundTripScanner(_FlowDepthLimit, RoundTripScanner):
    pass


class _Scanner(_FlowDepthLimit, Scanner):
    pass


class _BoundedComposer(Composer):
    """ruamel's composer, counting expanded nodes and refusing to nest past the limit."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self._limits: YamlLimits = getattr(loader, "orchestrate_limits", DEFAULT_LIMITS)
        self._nodes = 0
        self._expanded_size: dict[Any, int] = {}

    def compose_document(self: Any) -> Any:
        self._nodes = 0
        self._expanded_size = {}
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            # Undefined aliases count 1 here; ruamel reports them right after.
            self._count(self._expanded_size.get(event.anchor, 1), event)
            return super().compose_node(parent, index)
        if self.depth >= self._limits.max_depth:
            raise YamlLimitExceeded(
                problem=f"values nest more than {self._limits.max_depth} levels deep",
                problem_mark=event.start_mark,
            )
        self._count(1, event)
        before = self._nodes
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._expanded_size[event.anchor] = self._nodes - before + 1
        return node

    def _count(self, nodes: int, event: Any) -> None:
        self._nodes += nodes
        if self._nodes > self._limits.max_nodes:
            raise YamlLimitExceeded(
                problem=(
                    f"the document expands to more than {self._limits.max_nodes} values "
                    "(aliases of aliases multiply; write the values out instead)"
                ),
                problem_mark=event.start_mark,
            )
