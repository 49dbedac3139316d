"""An advisory's severity on our scale, from what its OSV record says.

A CVSS vector is the most precise statement, so its base score decides when there is
one (v3.x first, then v4, then v2), banded as the CVSS v3 specification bands scores:
9.0+ critical, 7.0+ high, 4.0+ medium, above 0 low. Otherwise the database's own word
(GitHub's ``database_specific.severity``: LOW, MODERATE, HIGH, CRITICAL). A record that
says nothing is ``medium``: a known vulnerability of unstated impact is not information
only, and ``high`` would fail every gate on the many PyPI records without a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from orchestrate.security.models import Severity

UNSTATED = Severity.MEDIUM

_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "none": Severity.INFO,
}
_PREFERENCE = ("CVSS_V3", "CVSS_V4", "CVSS_V2")
_MAX_VECTOR = 300


@dataclass(frozen=True, slots=True)
class Scored:
    severity: Severity
    score: float | None = None
    vector: str | None = None


def band(score: float) -> Severity:
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


@lru_cache(maxsize=4096)  # exports repeat a few hundred vectors across thousands of records
def base_score(kind: str, vector: str) -> float | None:
    """The vector's base score, or ``None`` for a vector the library rejects."""
    if len(vector) > _MAX_VECTOR:
        return None
    try:
        if kind == "CVSS_V3":
            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V4":
            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V2":
            return float(CVSS2(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError, ArithmeticError):
        return None
    return None


def score(vectors: list[tuple[str, str]], database_word: str | None) -> Scored:
    """``vectors`` are the record's ``severity`` entries as (type, score) pairs."""
    for preferred in _PREFERENCE:
        for kind, vector in vectors:
            if kind != preferred:
                continue
            value = base_score(kind, vector)
            if value is not None:
                return Scored(band(value), value, vector)
    if database_word is not None and database_word.strip().lower() in _WORDS:
        return Scored(_WORDS[database_word.strip().lower()])
    return Scored(UNSTATED)
