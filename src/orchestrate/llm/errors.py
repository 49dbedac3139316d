"""Errors a provider raises; the agent loop decides what each means for the run."""

from __future__ import annotations

from orchestrate.core.errors import IntegrationError, ValidationFailed


class ProviderError(IntegrationError):
    """The provider failed after its own retries (network, 5xx, 429/529 exhausted)."""

    title = "Language model provider failed"


class ContextWindowExceeded(ProviderError):
    """The request did not fit the model's context window; the loop elides and retries."""

    title = "Context window exceeded"


class MissingCredentials(ValidationFailed):
    """No API key for the chosen provider; reported before any work starts.

    A validation error, not a server fault: the request named a provider this
    installation cannot use, and choosing another (or setting the key) fixes it.
    """

    title = "Missing provider credentials"


class UnknownProvider(ValidationFailed):
    """A provider name that does not exist, or a replay without a usable session file."""

    title = "Unknown language-model provider"


class UnknownModel(ValidationFailed):
    """A model the chosen provider cannot serve (another vendor's, or none at all)."""

    title = "Unknown model for this provider"


class UnreachableProvider(ValidationFailed):
    """The provider's configured base URL is not a URL, or nothing answers there."""

    title = "Language-model server unreachable"
