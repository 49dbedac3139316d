"""The log redactor: credentials never reach a log line, ordinary values stay readable."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from orchestrate.core.logging import REDACTED, configure_logging, redact_processor, redact_text
from orchestrate.core.settings import LogFormat

SECRET = "orc_Zq3xY8cV1bN4mK7pL0sD2fG5hJ9wE6rT"


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_processor(None, "info", dict(event)))


class TestRedactText:
    def test_a_bearer_token_is_masked_but_the_scheme_stays(self) -> None:
        assert redact_text("Authorization: Bearer abc.DEF-123_x=") == (
            f"Authorization: Bearer {REDACTED}"
        )

    def test_the_bearer_scheme_is_matched_in_any_case(self) -> None:
        assert "abc123" not in redact_text("authorization: bearer abc123")

    def test_an_orchestrate_api_token_in_free_text_is_masked(self) -> None:
        text = redact_text(f"request failed with token {SECRET} for /api/jobs")

        assert SECRET not in text
        assert text == f"request failed with token {REDACTED} for /api/jobs"

    def test_the_password_of_a_database_url_is_masked(self) -> None:
        text = redact_text("cannot connect to postgresql+asyncpg://orch:hunter2@db:5432/orch")

        assert "hunter2" not in text
        assert text == f"cannot connect to postgresql+asyncpg://orch:{REDACTED}@db:5432/orch"

    @pytest.mark.parametrize(
        "text",
        [
            "story_01jd3x moved to review",
            "https://example.com:8443/path?x=1",
            "mail ops@example.com about orc_short",
            "a plain sentence with the word token in it",
        ],
    )
    def test_ordinary_text_is_left_alone(self, text: str) -> None:
        assert redact_text(text) == text


class TestRedactProcessor:
    @pytest.mark.parametrize(
        "key",
        [
            "token",
            "api_token",
            "password",
            "DB_PASSWORD",
            "secret",
            "authorization",
            "api_key",
            "apikey",
            "cookie",
            "client_secret",
            "passwd",
        ],
    )
    def test_values_of_secret_looking_keys_are_masked(self, key: str) -> None:
        assert redact(**{key: "value-123"})[key] == REDACTED

    def test_secrets_nested_in_dictionaries_and_lists_are_masked(self) -> None:
        event = redact(
            headers={"Authorization": "Basic dXNlcjpwYXNz", "Accept": "application/json"},
            steps=[{"name": "deploy", "api_key": "k-1"}],
        )

        assert event["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
        assert event["steps"] == [{"name": "deploy", "api_key": REDACTED}]

    def test_tokens_inside_ordinary_values_are_masked(self) -> None:
        event = redact(event="http_call", detail=f"sent Bearer {SECRET}", note=["x", SECRET])

        assert SECRET not in json.dumps(event)
        assert event["event"] == "http_call"

    def test_empty_or_missing_secrets_stay_visible_so_their_absence_is_debuggable(self) -> None:
        assert redact(token=None, password="") == {"token": None, "password": ""}

    def test_llm_token_counts_are_not_mistaken_for_credentials(self) -> None:
        event = redact(input_tokens=1200, max_tokens=4096, token_count=7, output_tokens=0.0)

        assert event == {
            "input_tokens": 1200,
            "max_tokens": 4096,
            "token_count": 7,
            "output_tokens": 0.0,
        }

    def test_a_numeric_password_is_still_masked(self) -> None:
        assert redact(password=123456)["password"] == REDACTED


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
class TestConfiguredLogging:
    def test_a_json_log_line_carries_no_secret(self, capsys: pytest.CaptureFixture[str]) -> None:
        configure_logging("info", LogFormat.JSON)

        structlog.get_logger("test.redaction").info(
            "token_used", token=SECRET, headers={"authorization": f"Bearer {SECRET}"}, count=3
        )

        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert SECRET not in json.dumps(line)
        assert line["event"] == "token_used"
        assert line["count"] == 3
        assert line["level"] == "info"

    def test_standard_library_log_lines_are_redacted_too(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging("info", LogFormat.JSON)

        logging.getLogger("some.library").warning("retrying with Authorization: Bearer %s", SECRET)

        output = capsys.readouterr().err
        assert "retrying with Authorization: Bearer" in output
        assert SECRET not in output

    def test_lines_below_the_configured_level_are_dropped(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging("warning", LogFormat.JSON)

        structlog.get_logger("test.level").info("chatty")
        structlog.get_logger("test.level").warning("important")

        output = capsys.readouterr().err
        assert "important" in output
        assert "chatty" not in output
