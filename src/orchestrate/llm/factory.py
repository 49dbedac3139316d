"""Turn a provider name from settings or the command line into a ready ``Provider``.

Names: ``anthropic``, ``openai`` (also any OpenAI-compatible server through
``OPENAI_BASE_URL``) and ``replay`` (a recorded session; the file comes from ``replay=``
or from the name itself, ``replay:PATH``). ``record=`` wraps whichever provider in a
``RecordingProvider`` writing that file.
"""

from __future__ import annotations

from pathlib import Path

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.llm.errors import UnknownProvider
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay import RecordingProvider, ReplayProvider

PROVIDER_NAMES = ("anthropic", "openai", "replay")


def check_credentials(name: str) -> None:
    """Fail fast, before a run is created, when the provider has no credentials.

    Raises ``MissingCredentials`` naming the variable to set, or ``ConfigurationError``
    for an unknown provider or a replay without a session file.
    """
    kind, argument = _split(name)
    # The vendor SDKs take seconds to import; only the chosen one is loaded.
    if kind == "anthropic":
        from orchestrate.llm import anthropic

        anthropic.require_credentials()
    elif kind == "openai":
        from orchestrate.llm import openai_compat

        openai_compat.require_credentials()
    elif not argument:
        raise UnknownProvider(
            "The replay provider needs a session file: use replay:PATH "
            "(record one with --record PATH).",
            field="provider",
        )
    elif not Path(argument).is_file():
        raise UnknownProvider(
            f"Replay session file {argument} does not exist; record one with --record.",
            field="provider",
            path=argument,
        )


def create_provider(
    name: str,
    settings: Settings,
    *,
    record: Path | None = None,
    replay: Path | None = None,
) -> Provider:
    """The provider called ``name``; a ``replay`` file, when given, wins over the name.

    ``settings`` is the process configuration; providers read their keys and base URLs
    from the environment variables their vendors document.
    """
    kind, argument = _split(name)
    provider: Provider
    if replay is not None or kind == "replay":
        path = replay or (Path(argument) if argument else None)
        if path is None:
            raise ConfigurationError(
                "The replay provider needs a recorded session file: use --provider "
                "replay:PATH, or record one first with --record PATH.",
                provider=name,
            )
        provider = ReplayProvider(path)
    elif kind == "anthropic":
        from orchestrate.llm import anthropic

        provider = anthropic.AnthropicProvider()
    else:
        from orchestrate.llm import openai_compat

        provider = openai_compat.OpenAIProvider()
    if record is not None:
        provider = RecordingProvider(provider, record)
    return provider


def _split(name: str) -> tuple[str, str]:
    kind, _, argument = name.strip().partition(":")
    kind = kind.lower()
    if kind not in PROVIDER_NAMES or (argument and kind != "replay"):
        raise UnknownProvider(
            f"Unknown language-model provider {name!r}; choose one of "
            f"{', '.join(PROVIDER_NAMES)} (replay takes a file: replay:PATH).",
            field="provider",
            provider=name,
            valid=list(PROVIDER_NAMES),
        )
    return kind, argument
