"""Licence compliance: SPDX expressions judged by a policy of allowed, review and
denied licences; each dependency's licence from its lockfile or installed metadata."""

from __future__ import annotations

from orchestrate.security.licenses.models import (
    Evaluation,
    LicensePolicy,
    ResolvedLicense,
    Verdict,
)
from orchestrate.security.licenses.policy import default_policy, load_license_policy
from orchestrate.security.licenses.service import check_licenses
from orchestrate.security.licenses.spdx import evaluate, normalise_license

__all__ = [
    "Evaluation",
    "LicensePolicy",
    "ResolvedLicense",
    "Verdict",
    "check_licenses",
    "default_policy",
    "evaluate",
    "load_license_policy",
    "normalise_license",
]
