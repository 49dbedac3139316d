"""Turn a provider name from settings or the command line into a ready ``Provider``.

Names: ``anthropic``, ``openai`` (also any OpenAI-compatible server through
``OPENAI_BASE_URL``) and ``replay`` (a recorded session; the file comes from ``replay=``
or from the name itself, ``replay:PATH``). ``record=`` wraps whichever provider in a
``RecordingProvider`` writing that file; ``identity`` names the run in a recording and
is masked when a replay compares what the run sends with what was recorded.

API keys come from the environment variables the vendors document; when one is not
set, a secret of the same name in the secret store is used instead. The secrets
capability hands those over through ``use_stored_credentials`` whenever it loads the
store (this package may not import it: providers know nothing of the database).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.llm.errors import UnknownProvider
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay import RecordingProvider, ReplayProvider
from orchestrate.llm.replay_match import RunIdentity

PROVIDER_NAMES = ("anthropic", "openai", "replay")
ANTHROPIC_KEY_NAME = "ANTHROPIC_API_KEY"
OPENAI_KEY_NAME = "OPENAI_API_KEY"
CREDENTIAL_NAMES = (ANTHROPIC_KEY_NAME, OPENAI_KEY_NAME)
"""Secrets the providers take from the store when the environment lacks them."""
# The environment variables whose presence means the environment's key wins.
_ENVIRONMENT_FIRST = {
    ANTHROPIC_KEY_NAME: (ANTHROPIC_KEY_NAME, "ANTHROPIC_AUTH_TOKEN"),
    OPENAI_KEY_NAME: (OPENAI_KEY_NAME,),
}
_stored_credentials: Mapping[str, str] = {}


def use_stored_credentials(values: Mapping[str, str]) -> None:
    """Remember the provider keys found in the secret store (``CREDENTIAL_NAMES`` only)."""
    global _stored_credentials
    _stored_credentials = {name: values[name] for name in CREDENTIAL_NAMES if name in values}


def _stored_key(name: str) -> str | None:
    """The stored key ``name``, unless the environment provides one (which wins)."""
    if any(os.environ.get(variable) for variable in _ENVIRONMENT_FIRST[name]):
        return None
    return _stored_credentials.get(name)


def check_credentials(name: str) -> None:
    """Fail fast, before a run is created, when the provider has no credentials.

    Raises ``MissingCredentials`` naming the variable to set, or ``ConfigurationError``
    for an unknown provider or a replay without a session file.
    """
    kind, argument = split_name(name)
    # The vendor SDKs take seconds to import; only the chosen one is loaded.
    if kind == "anthropic":
        from orchestrate.llm import anthropic

        anthropic.require_credentials(_stored_key(ANTHROPIC_KEY_NAME))
    elif kind == "openai":
        from orchestrate.llm import openai_compat

        openai_compat.require_credentials(_stored_key(OPENAI_KEY_NAME))
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
    identity: RunIdentity | None = None,
    allow_missing_replay: bool = False,
) -> Provider:
    """The provider called ``name``; a ``replay`` file, when given, wins over the name.

    ``settings`` is the process configuration; providers read their keys and base URLs
    from the environment variables their vendors document, keys also from the store.
    ``allow_missing_replay`` is for a sub-agent's stream, which does not exist when the
    sub-agent never called its model (``ReplayProvider``).
    """
    kind, argument = split_name(name)
    provider: Provider
    if replay is not None or kind == "replay":
        path = replay or (Path(argument) if argument else None)
        if path is None:
            raise ConfigurationError(
                "The replay provider needs a recorded session file: use --provider "
                "replay:PATH, or record one first with --record PATH.",
                provider=name,
            )
        provider = ReplayProvider(path, identity=identity, allow_missing=allow_missing_replay)
    elif kind == "anthropic":
        from orchestrate.llm import anthropic

        provider = anthropic.AnthropicProvider(api_key=_stored_key(ANTHROPIC_KEY_NAME))
    else:
        from orchestrate.llm import openai_compat

        provider = openai_compat.OpenAIProvider(api_key=_stored_key(OPENAI_KEY_NAME))
    if record is not None:
        provider = RecordingProvider(provider, record, identity=identity)
    return provider


def provider_kind(name: str) -> str:
    """``anthropic``, ``openai`` or ``replay`` for a provider name, or ``UnknownProvider``."""
    return split_name(name)[0]


def split_name(name: str) -> tuple[str, str]:
    """``(kind, argument)`` of a provider name, or ``UnknownProvider`` saying what to use."""
    kind, _, argument = name.strip().partition(":")
    kind = kind.lower()
    if kind == "scripted":
        raise UnknownProvider(
            "The scripted provider is a test double for Python code "
            "(orchestrate.testing.ScriptedProvider plays a list of responses given in code); "
            "it cannot be chosen by name. To run an agent without a model or a key, replay "
            "a recorded session: record one with --record PATH, then use --provider "
            "replay:PATH.",
            field="provider",
            provider=name,
            valid=list(PROVIDER_NAMES),
        )
    if kind in PROVIDER_NAMES and argument and kind != "replay":
        raise UnknownProvider(
            f"Provider {kind!r} takes nothing after ':' (only replay:PATH does); "
            f"pass the model separately: --provider {kind} --model {argument}.",
            field="provider",
            provider=name,
        )
    if kind not in PROVIDER_NAMES:
        close = difflib.get_close_matches(kind, PROVIDER_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownProvider(
            f"Unknown language-model provider {name!r}; choose one of "
            f"{', '.join(PROVIDER_NAMES)} (replay takes a file: replay:PATH).{hint}",
            field="provider",
            provider=name,
            valid=list(PROVIDER_NAMES),
        )
    return kind, argument
