"""Choosing a provider by name, and refusing early when it has no credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.llm.anthropic import AnthropicProvider
from orchestrate.llm.errors import MissingCredentials, UnknownProvider
from orchestrate.llm.factory import check_credentials, create_provider
from orchestrate.llm.openai_compat import OpenAIProvider
from orchestrate.llm.replay import RecordingProvider, ReplayProvider

VENDOR_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def no_vendor_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VENDOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def session_file(tmp_path: Path) -> Path:
    path = tmp_path / "session.jsonl"
    path.write_text(
        '{"type":"session","version":1,"provider":"anthropic","model":"m","created_at":"t"}\n'
    )
    return path


class TestCredentials:
    def test_anthropic_without_a_key_names_the_variable_and_the_alternatives(self) -> None:
        with pytest.raises(MissingCredentials) as raised:
            check_credentials("anthropic")

        assert str(raised.value) == (
            "ANTHROPIC_API_KEY is not set; export it or choose --provider openai|replay."
        )

    def test_anthropic_with_a_key_in_the_environment_passes(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")

        check_credentials("anthropic")

    def test_openai_without_a_key_or_base_url_is_missing_credentials(self) -> None:
        with pytest.raises(MissingCredentials, match="OPENAI_API_KEY is not set"):
            check_credentials("openai")

    def test_openai_pointed_at_a_local_server_needs_no_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")

        check_credentials("openai")

    def test_openai_pointed_at_openai_itself_still_needs_a_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")

        with pytest.raises(MissingCredentials):
            check_credentials("openai")

    def test_replay_needs_no_credentials(self, session_file: Path) -> None:
        check_credentials(f"replay:{session_file}")

    def test_replay_without_a_session_file_is_refused_up_front(self) -> None:
        with pytest.raises(UnknownProvider, match="replay:PATH"):
            check_credentials("replay")

    def test_replay_of_a_missing_file_is_refused_up_front(self, tmp_path: Path) -> None:
        with pytest.raises(UnknownProvider, match="does not exist"):
            check_credentials(f"replay:{tmp_path / 'nope.jsonl'}")

    def test_an_unknown_provider_lists_the_valid_names(self) -> None:
        with pytest.raises(UnknownProvider, match="anthropic, openai, replay"):
            check_credentials("antropic")


class TestCreate:
    async def test_anthropic_is_created_with_a_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")

        provider = create_provider("anthropic", Settings())

        assert isinstance(provider, AnthropicProvider)
        await provider.aclose()

    def test_anthropic_is_not_created_without_a_key(self) -> None:
        with pytest.raises(MissingCredentials):
            create_provider("anthropic", Settings())

    async def test_openai_uses_the_base_url_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")

        provider = create_provider("openai", Settings())

        assert isinstance(provider, OpenAIProvider)
        assert provider.base_url == "http://127.0.0.1:8000/v1/"
        await provider.aclose()

    def test_replay_takes_its_file_from_the_name(self, session_file: Path) -> None:
        provider = create_provider(f"replay:{session_file}", Settings())

        assert isinstance(provider, ReplayProvider)
        assert provider.path == session_file

    def test_a_replay_file_wins_over_the_name(self, session_file: Path) -> None:
        provider = create_provider("anthropic", Settings(), replay=session_file)

        assert isinstance(provider, ReplayProvider)

    def test_replay_without_a_file_says_how_to_give_one(self) -> None:
        with pytest.raises(ConfigurationError, match="replay:PATH"):
            create_provider("replay", Settings())

    async def test_record_wraps_the_provider(self, session_file: Path, tmp_path: Path) -> None:
        provider = create_provider(
            f"replay:{session_file}", Settings(), record=tmp_path / "copy.jsonl"
        )

        assert isinstance(provider, RecordingProvider)
        assert provider.name == "replay"
        await provider.aclose()

    def test_an_unknown_provider_is_refused_as_bad_input(self) -> None:
        with pytest.raises(UnknownProvider, match="Unknown language-model provider 'gpt'"):
            create_provider("gpt", Settings())
