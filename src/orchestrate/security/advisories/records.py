"""An OSV record read into typed values, defensively.

Records come from exports we did not write, so every field is checked for its type and
capped in length; a record without an ``id`` or ``modified`` is rejected with the reason
(the importer counts it as skipped), anything else unexpected is dropped quietly — the
OSV schema grows, and a field we do not use must not fail an import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrate.security.advisories.ranges import (
    AffectedPackage,
    EventKind,
    RangeEvent,
    VersionRange,
)
from orchestrate.security.advisories.severity import Scored, score
from orchestrate.security.dependencies.naming import normalise_name
from orchestrate.security.models import Ecosystem

MAX_DETAILS = 8_000
MAX_SUMMARY = 500
MAX_ID = 100
MAX_NAME = 300
MAX_LIST = 1_000
"""Aliases, references, affected entries, ranges, events and listed versions, each."""
MAX_VERSIONS = 5_000
_EVENT_KINDS = tuple((kind, kind.value) for kind in EventKind)


class RecordRejected(ValueError):
    """The record lacks what makes it usable (its id or modified time)."""


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    aliases: tuple[str, ...]
    summary: str
    details: str
    severity: Scored
    references: tuple[str, ...]
    affected: tuple[AffectedPackage, ...]


def read_record(document: object) -> Advisory:
    """The advisory a parsed OSV document (JSON or YAML) describes."""
    if not isinstance(document, Mapping):
        raise RecordRejected("not an OSV record (the document is not an object)")
    record_id = _text(document.get("id"), MAX_ID)
    if not record_id:
        raise RecordRejected("the record has no 'id'")
    modified = _time(document.get("modified"))
    if modified is None:
        raise RecordRejected(f"record {record_id} has no valid 'modified' time")
    return Advisory(
        id=record_id,
        modified=modified,
        published=_time(document.get("published")),
        withdrawn=_time(document.get("withdrawn")),
        aliases=tuple(_texts(document.get("aliases"), MAX_ID)),
        summary=_text(document.get("summary"), MAX_SUMMARY),
        details=_text(document.get("details"), MAX_DETAILS),
        severity=_severity(document),
        references=tuple(_references(document.get("references"))),
        affected=tuple(_affected(document.get("affected"))),
    )


def _severity(document: Mapping[object, object]) -> Scored:
    vectors = [
        (_text(entry.get("type"), 20), _text(entry.get("score"), 300))
        for entry in _items(document.get("severity"))
        if isinstance(entry, Mapping)
    ]
    word = None
    specific = document.get("database_specific")
    if isinstance(specific, Mapping) and isinstance(specific.get("severity"), str):
        word = str(specific["severity"])[:20]
    if word is None:  # some databases put it on the affected entries instead
        for entry in _items(document.get("affected")):
            for key in ("ecosystem_specific", "database_specific"):
                inner = entry.get(key) if isinstance(entry, Mapping) else None
                if isinstance(inner, Mapping) and isinstance(inner.get("severity"), str):
                    word = str(inner["severity"])[:20]
    return score(vectors, word)


def _affected(value: object) -> list[AffectedPackage]:
    found = []
    for entry in _items(value):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("package"), Mapping):
            continue
        package = entry["package"]
        ecosystem = _text(package.get("ecosystem"), 100)
        name = _text(package.get("name"), MAX_NAME)
        if not ecosystem or not name:
            continue
        found.append(
            AffectedPackage(
                ecosystem=ecosystem,
                name=_normalised(ecosystem, name),
                ranges=tuple(_ranges(entry.get("ranges"))),
                versions=tuple(_texts(entry.get("versions"), 200, limit=MAX_VERSIONS)),
            )
        )
    return found


def _normalised(ecosystem: str, name: str) -> str:
    try:
        return normalise_name(Ecosystem(ecosystem), name)
    except ValueError:  # an ecosystem we do not read: stored as the record spells it
        return name


def _ranges(value: object) -> list[VersionRange]:
    ranges = []
    for entry in _items(value):
        if not isinstance(entry, Mapping):
            continue
        events = []
        for event in _items(entry.get("events")):
            if not isinstance(event, Mapping):
                continue
            for kind, key in _EVENT_KINDS:
                version = event.get(key)
                if isinstance(version, str | int | float) and not isinstance(version, bool):
                    events.append(RangeEvent(kind, str(version)[:200]))
                    break
        ranges.append(VersionRange(_text(entry.get("type"), 20).upper(), tuple(events)))
    return ranges


def _references(value: object) -> list[str]:
    return [
        _text(entry.get("url"), 2_000)
        for entry in _items(value)
        if isinstance(entry, Mapping) and isinstance(entry.get("url"), str)
    ]


def _items(value: object) -> list[object]:
    return list(value[:MAX_LIST]) if isinstance(value, list) else []


def _texts(value: object, cap: int, *, limit: int = MAX_LIST) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(item)[:cap] for item in value[:limit] if isinstance(item, str | int)]


def _text(value: object, cap: int) -> str:
    return value[:cap] if isinstance(value, str) else ""


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):  # YAML may give a timestamp already
        parsed = value
    elif isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
