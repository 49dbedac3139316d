"""Job kinds for tests of the queue itself: one small payload, kinds made by name."""

from __future__ import annotations

from orchestrate.core.jobs import JobKind, JobPayload


class Note(JobPayload):
    """What a test job carries: a number and a name, both optional."""

    n: int = 0
    name: str = ""


def note_kind(name: str) -> JobKind[Note]:
    """A kind named ``name`` whose jobs carry a ``Note``."""
    return JobKind(name, Note)
