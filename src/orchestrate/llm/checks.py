"""Checks of a provider and model choice, run before an agent is stored.

Each failure says exactly what is wrong and how to fix it (a provider that exists but
cannot be named, a model of another vendor, a missing key, a base URL that is not a
URL or where nothing answers), as a ``ValidationFailed``: exit 2 on the command line,
a 422 problem from the API. Without them the same mistakes surfaced minutes later as a
failed run, or as "unknown provider" for one that exists.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from orchestrate.llm.errors import UnknownModel, UnreachableProvider
from orchestrate.llm.factory import check_credentials, split_name

# Connecting to a local server answers at once; a second means nothing is listening.
_CONNECT_TIMEOUT_SECONDS = 2.0
_BASE_URL_VARIABLES = {"anthropic": "ANTHROPIC_BASE_URL", "openai": "OPENAI_BASE_URL"}
_OFFICIAL_HOSTS = {"anthropic": "api.anthropic.com", "openai": "api.openai.com"}


async def check_provider(name: str, model: str) -> None:
    """Refuse a provider/model choice that cannot work, naming the fix.

    Raises ``UnknownProvider``, ``MissingCredentials``, ``UnknownModel`` or
    ``UnreachableProvider`` (all ``ValidationFailed``). A self-hosted base URL is
    probed with one TCP connection; the vendors' own APIs are never contacted.
    """
    kind, _ = split_name(name)
    if not model.strip():
        raise UnknownModel(
            f"No model chosen for provider {kind!r}; pass --model NAME.",
            field="model",
            provider=kind,
        )
    if kind == "replay":
        check_credentials(name)
        return
    base_url = _base_url(kind)
    check_credentials(name)
    _check_model_family(kind, model, base_url)
    if base_url is not None and urlsplit(base_url).hostname != _OFFICIAL_HOSTS[kind]:
        await _check_reachable(kind, base_url)


def _base_url(kind: str) -> str | None:
    """The configured base URL of ``kind``, or ``UnreachableProvider`` when it is no URL."""
    variable = _BASE_URL_VARIABLES[kind]
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnreachableProvider(
            f"{variable}={value!r} is not an http(s) URL; set it to the server's full "
            "address, e.g. http://127.0.0.1:11434/v1 for Ollama, or unset it to use "
            f"{_OFFICIAL_HOSTS[kind]}.",
            field="provider",
            provider=kind,
            variable=variable,
        )
    return value


def _check_model_family(kind: str, model: str, base_url: str | None) -> None:
    """A model of the other vendor, sent to that vendor's own API, can never work."""
    is_official = base_url is None or urlsplit(base_url).hostname == _OFFICIAL_HOSTS[kind]
    if not is_official:
        return  # a proxy or local server may serve any name
    is_claude = model.lower().startswith("claude")
    if kind == "anthropic" and not is_claude:
        raise UnknownModel(
            f"Model {model!r} is not an Anthropic model (their names start with 'claude-', "
            f"e.g. claude-sonnet-4-5); pass --model claude-…, or --provider openai for "
            f"{model!r}.",
            field="model",
            provider=kind,
            model=model,
        )
    if kind == "openai" and is_claude:
        raise UnknownModel(
            f"Model {model!r} is an Anthropic model, which OpenAI's API does not serve; use "
            f"--provider anthropic --model {model}, or set OPENAI_BASE_URL to a "
            "compatible server that serves it.",
            field="model",
            provider=kind,
            model=model,
        )


async def _check_reachable(kind: str, base_url: str) -> None:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    variable = _BASE_URL_VARIABLES[kind]
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), _CONNECT_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError) as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.strerror or str(error)
        raise UnreachableProvider(
            f"Nothing answers at {variable}={base_url} ({reason}); start the server "
            f"(e.g. 'ollama serve'), or fix or unset {variable}.",
            field="provider",
            provider=kind,
            variable=variable,
        ) from None
    writer.close()
    await writer.wait_closed()
