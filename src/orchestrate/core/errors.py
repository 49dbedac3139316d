"""The error tree every capability raises from.

    OrchestrateError            root; never raised directly
    ├── NotFound                an id or name that does not exist           (HTTP 404, exit 1)
    ├── Conflict                the request clashes with stored state       (HTTP 409, exit 1)
    │   └── InvalidTransition   a state machine refused a transition        (HTTP 409, exit 1)
    ├── ValidationFailed        input is malformed or breaks a rule         (HTTP 422, exit 2)
    ├── ConfigurationError      settings are missing or invalid             (HTTP 500, exit 2)
    ├── AuthenticationFailed    no credentials, or unknown/revoked ones     (HTTP 401, exit 2)
    ├── PermissionDenied        authenticated, but the role may not do this (HTTP 403, exit 2)
    └── IntegrationError        an external service failed                  (HTTP 502, exit 1)

Each error carries a human message that says what happened and what to do, plus a
``context`` mapping of machine-readable facts (ids, names, line numbers) that the API
puts into the problem body and the CLI may print. HTTP statuses are assigned in one
place, ``web/errors.py``; exit codes in one place, ``cli/errors.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OrchestrateError(Exception):
    """Root of every error Orchestrate raises on purpose."""

    title = "Orchestrate error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: Mapping[str, Any] = context

    def __str__(self) -> str:
        return self.message


class NotFound(OrchestrateError):
    title = "Not found"


class Conflict(OrchestrateError):
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid state transition"


class ValidationFailed(OrchestrateError):
    title = "Validation failed"


class ConfigurationError(OrchestrateError):
    title = "Invalid configuration"


class AuthenticationFailed(OrchestrateError):
    title = "Authentication required"


class PermissionDenied(OrchestrateError):
    title = "Permission denied"


class IntegrationError(OrchestrateError):
    title = "External service failed"
