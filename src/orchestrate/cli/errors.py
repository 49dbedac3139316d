"""The one place that maps errors to exit codes: 0 success, 1 the work failed,
2 bad usage or configuration."""

from __future__ import annotations

from orchestrate.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    OrchestrateError,
    PermissionDenied,
    ValidationFailed,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_USAGE_ERRORS = (ValidationFailed, ConfigurationError, AuthenticationFailed, PermissionDenied)


def exit_code_for(error: OrchestrateError) -> int:
    return EXIT_USAGE if isinstance(error, _USAGE_ERRORS) else EXIT_FAILED
