"""Every provider or model mistake names the real problem and the fix, before anything runs.

On the command line: one line and exit 2, no agent stored. Over the API: a 422 problem.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.testing import FakeOpenAI, finish
from tests.integration.cli.support import Cli, make_cli
from tests.support import bearer

VENDOR_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def _only_these_vendor_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VENDOR_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def refused(cli: Cli, repo: Path, *options: str, **env: str) -> str:
    """``agent start`` with ``options``: exit 2, nothing stored; returns the message."""
    result = cli(
        "agent", "start", "explorer", "--task", "Why?", "--repo", str(repo), *options, env=env
    )
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert json.loads(cli("agent", "list", "--json").stdout) == []
    return " ".join(result.stderr.split())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestOnTheCommandLine:
    def test_the_scripted_provider_is_named_as_a_test_double_with_the_offline_alternative(
        self, cli: Cli, repo: Path
    ) -> None:
        message = refused(cli, repo, "--provider", "scripted", "--model", "x")

        assert "Unknown language-model provider" not in message
        assert "scripted provider is a test double for Python code" in message
        assert "--provider replay:PATH" in message

    def test_a_misspelt_provider_gets_a_suggestion(self, cli: Cli, repo: Path) -> None:
        message = refused(cli, repo, "--provider", "antropic", "--model", "claude-sonnet-4-5")

        assert "Unknown language-model provider 'antropic'" in message
        assert "Did you mean 'anthropic'?" in message

    def test_a_model_written_into_the_provider_name_is_moved_to_model(
        self, cli: Cli, repo: Path
    ) -> None:
        message = refused(cli, repo, "--provider", "openai:gpt-4o", OPENAI_API_KEY="k")

        assert "--provider openai --model gpt-4o" in message

    def test_an_openai_model_on_anthropic_names_the_right_provider(
        self, cli: Cli, repo: Path
    ) -> None:
        message = refused(
            cli, repo, "--provider", "anthropic", "--model", "gpt-4o", ANTHROPIC_API_KEY="k"
        )

        assert "Model 'gpt-4o' is not an Anthropic model" in message
        assert "--provider openai" in message

    def test_a_claude_model_on_openai_names_the_right_provider(self, cli: Cli, repo: Path) -> None:
        message = refused(
            cli, repo, "--provider", "openai", "--model", "claude-sonnet-4-5", OPENAI_API_KEY="k"
        )

        assert "Model 'claude-sonnet-4-5' is an Anthropic model" in message
        assert "--provider anthropic --model claude-sonnet-4-5" in message

    def test_a_missing_key_names_the_variable(self, cli: Cli, repo: Path) -> None:
        message = refused(cli, repo, "--provider", "anthropic", "--model", "claude-sonnet-4-5")

        assert "ANTHROPIC_API_KEY is not set" in message

    def test_a_base_url_that_is_not_a_url_says_what_it_should_look_like(
        self, cli: Cli, repo: Path
    ) -> None:
        message = refused(
            cli,
            repo,
            "--provider",
            "openai",
            "--model",
            "llama3",
            OPENAI_BASE_URL="localhost:11434",
        )

        assert "OPENAI_BASE_URL='localhost:11434' is not an http(s) URL" in message
        assert "http://127.0.0.1:11434/v1" in message

    def test_a_base_url_where_nothing_listens_is_named(self, cli: Cli, repo: Path) -> None:
        url = f"http://127.0.0.1:{closed_port()}/v1"

        message = refused(
            cli, repo, "--provider", "openai", "--model", "llama3", OPENAI_BASE_URL=url
        )

        assert f"Nothing answers at OPENAI_BASE_URL={url}" in message
        assert "start the server" in message

    def test_a_local_server_that_answers_is_accepted_with_any_model_name(
        self, cli: Cli, repo: Path
    ) -> None:
        with FakeOpenAI([finish("completed", "ok")]) as server:
            result = cli(
                "agent", "start", "explorer", "--task", "Why?", "--repo", str(repo),
                "--provider", "openai", "--model", "claude-via-proxy",
                env={"OPENAI_BASE_URL": server.base_url},
            )  # fmt: skip

        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("agent_")


class TestOverTheApi:
    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({"provider": "scripted", "model": "x"}, "scripted provider is a test double"),
            ({"provider": "anthropic", "model": "gpt-4o"}, "is not an Anthropic model"),
        ],
    )
    async def test_a_bad_choice_is_a_422_problem_naming_it(
        self,
        api: httpx.AsyncClient,
        tokens: dict[Role, str],
        monkeypatch: pytest.MonkeyPatch,
        changes: dict[str, str],
        expected: str,
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        body = {"type": "explorer", "task": "Why?", **changes}

        response = await api.post("/api/agents", json=body, headers=bearer(tokens[Role.OPERATOR]))

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert expected in response.json()["detail"]
