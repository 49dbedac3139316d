"""Licence policy and verdicts: pure types, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """What the policy says about a licence, best first (``rank`` orders them)."""

    ALLOWED = "allowed"
    REVIEW = "review"
    DENIED = "denied"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)


_ORDER = (Verdict.ALLOWED, Verdict.REVIEW, Verdict.DENIED)


@dataclass(frozen=True, slots=True)
class LicensePolicy:
    """Which SPDX licence ids (and ``LicenseRef-*`` ids, and ``X WITH exception``
    pairs) are allowed, denied or need a human's review; ``unlisted`` is the verdict of
    an id no list names. Ids are kept in SPDX's canonical spelling."""

    allowed: frozenset[str]
    review: frozenset[str]
    denied: frozenset[str]
    unlisted: Verdict = Verdict.REVIEW

    def verdict_of(self, license_id: str) -> Verdict:
        if license_id in self.denied:
            return Verdict.DENIED
        if license_id in self.review:
            return Verdict.REVIEW
        if license_id in self.allowed:
            return Verdict.ALLOWED
        return self.unlisted


@dataclass(frozen=True, slots=True)
class Evaluation:
    """An expression's verdict, and the licence ids that decided it (for the message:
    ``GPL-3.0-only`` is what made ``MIT AND GPL-3.0-only`` denied)."""

    verdict: Verdict
    deciding: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResolvedLicense:
    """A dependency's licence as found: the SPDX expression (``None`` when it could
    not be determined), the text it came from, and where that text was read."""

    expression: str | None
    raw: str
    origin: str
