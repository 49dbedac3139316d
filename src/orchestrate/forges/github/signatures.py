"""GitHub's webhook signature: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value GitHub sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{_PREFIX}{digest}"


def verify_signature(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """True when ``header`` is the signature of the raw ``body`` under any of ``secrets``.

    Several secrets are accepted so a secret can be rotated: configure old and new,
    change it on GitHub, then drop the old one. Every comparison is constant-time.
    """
    if not header or not header.startswith(_PREFIX) or not secrets:
        return False
    given = header.strip().encode("ascii", errors="replace")
    matched = False
    for secret in secrets:
        # No early exit: the time taken does not reveal which secret matched.
        matched |= hmac.compare_digest(sign(body, secret).encode(), given)
    return matched
