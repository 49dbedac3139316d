"""A provider from settings and the secret store: which platform, where, with which token."""

from __future__ import annotations

from orchestrate.ci.providers._retry import RetryPolicy
from orchestrate.ci.providers.base import CiProvider, MissingCiToken, ProviderName, names
from orchestrate.ci.providers.circleci import CircleCi
from orchestrate.ci.providers.github import GitHubActions
from orchestrate.ci.providers.gitlab import GitLabCi
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets import service as secrets


def provider_name(value: str | None, settings: Settings) -> ProviderName:
    """The provider a caller named, else ``ORCHESTRATE_CI_PROVIDER``; unknown ones refused."""
    chosen = (value or settings.ci_provider).strip().lower()
    try:
        return ProviderName(chosen)
    except ValueError:
        raise ValidationFailed(
            f"Unknown CI provider {chosen[:40]!r}: use one of {names(list(ProviderName))}",
            field="provider",
        ) from None


def token_secret(name: ProviderName, settings: Settings) -> str:
    return {
        ProviderName.GITHUB: settings.ci_github_token_secret,
        ProviderName.GITLAB: settings.ci_gitlab_token_secret,
        ProviderName.CIRCLECI: settings.ci_circleci_token_secret,
    }[name]


async def provider_token(uow: UnitOfWork, settings: Settings, name: ProviderName) -> str:
    """The stored secret the settings name for ``name``; for GitHub and GitLab the forge's
    token setting when nothing is stored. Missing: ``MissingCiToken`` saying how."""
    secret = token_secret(name, settings).strip().upper()
    stored = await secrets.get_secret_values(uow, settings, [secret])
    if token := stored.get(secret):
        return token
    fallback = {
        ProviderName.GITHUB: settings.github_token,
        ProviderName.GITLAB: settings.gitlab_token,
    }
    configured = fallback.get(name)
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    setting = f"ORCHESTRATE_CI_{name.value.upper()}_TOKEN_SECRET"
    raise MissingCiToken(
        f"No {name.value} token: store one with `orchestrate secret set {secret}` "
        f"({setting} names the secret read)",
        provider=name.value,
        secret=secret,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.forge_retry_attempts,
        backoff_base=settings.forge_retry_base_seconds,
        backoff_max=settings.forge_retry_max_seconds,
        max_wait=settings.forge_rate_limit_max_wait_seconds,
    )


def build_provider(name: ProviderName, settings: Settings, token: str) -> CiProvider:
    policy = retry_policy(settings)
    timeout = settings.forge_timeout_seconds
    if name is ProviderName.GITHUB:
        return GitHubActions(
            token,
            api_url=(settings.ci_github_api_url or settings.github_api_url).rstrip("/"),
            policy=policy,
            timeout=timeout,
            dispatch_timeout=settings.ci_trigger_timeout_seconds,
        )
    if name is ProviderName.GITLAB:
        url = (settings.ci_gitlab_url or settings.gitlab_url).rstrip("/").removesuffix("/api/v4")
        return GitLabCi(token, url=url, policy=policy, timeout=timeout)
    return CircleCi(
        token,
        url=settings.ci_circleci_url,
        policy=policy,
        timeout=timeout,
        app_url=_app_url(settings.ci_circleci_url),
        trigger_timeout=settings.ci_trigger_timeout_seconds,
    )


def _app_url(api_url: str) -> str:
    url = api_url.rstrip("/")
    return "https://app.circleci.com" if url == "https://circleci.com" else url


async def open_provider(uow: UnitOfWork, settings: Settings, name: ProviderName) -> CiProvider:
    """The provider ``name`` with its stored token; the caller closes it (``aclose``)."""
    return build_provider(name, settings, await provider_token(uow, settings, name))
