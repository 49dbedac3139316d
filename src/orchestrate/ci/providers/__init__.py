"""CI platforms behind one protocol: GitHub Actions, GitLab CI, CircleCI (docs/ci.md)."""

from orchestrate.ci.providers.base import (
    CiAuthenticationFailed,
    CiJob,
    CiNotFound,
    CiProvider,
    CiProviderError,
    CiRun,
    CiStep,
    Conclusion,
    MissingCiToken,
    ProviderName,
    RateLimited,
    RunFilter,
    RunPage,
    RunStatus,
    TriggerRequest,
)

__all__ = [
    "CiAuthenticationFailed",
    "CiJob",
    "CiNotFound",
    "CiProvider",
    "CiProviderError",
    "CiRun",
    "CiStep",
    "Conclusion",
    "MissingCiToken",
    "ProviderName",
    "RateLimited",
    "RunFilter",
    "RunPage",
    "RunStatus",
    "TriggerRequest",
]
