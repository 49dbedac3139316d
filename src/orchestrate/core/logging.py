"""Structured logging: JSON lines in production, readable colours on a terminal.

Every line passes through a redactor that masks values of secret-looking keys
(tokens, passwords, keys), and bearer tokens, API tokens and the passwords of URLs
inside strings, so a careless ``log.info(..., headers=headers)`` cannot leak credentials.
Every value of the secret store (``core.masking.process_masker()``) is replaced by
``***`` too: in each value before rendering, and once more in the rendered line, which
also covers exception tracebacks formatted after the redactor ran.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from orchestrate.core.masking import process_masker
from orchestrate.core.settings import LogFormat

_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|authorization|api_key|apikey|cookie)", re.IGNORECASE
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
_ORCHESTRATE_TOKEN = re.compile(r"\borc_[A-Za-z0-9_-]{8,}")
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+(@)")
# LLM usage is counted in "tokens" (input_tokens=1200); a count is not a credential.
_TOKEN_COUNT_KEY = re.compile(r"tokens?$|^tokens?_", re.IGNORECASE)
REDACTED = "[REDACTED]"


def redact_text(text: str) -> str:
    """Mask secret values, bearer tokens, Orchestrate API tokens and URL passwords."""
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}\g<2>", process_masker().mask(text))
    return _ORCHESTRATE_TOKEN.sub(REDACTED, _BEARER.sub(rf"\g<1>{REDACTED}", text))


def _is_token_count(key: str, value: Any) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and _TOKEN_COUNT_KEY.search(key) is not None


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value not in (None, "") and not _is_token_count(key, value):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, item) for item in value]
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def configure_logging(level: str = "info", log_format: LogFormat = LogFormat.AUTO) -> None:
    """Set up structlog and route the standard library's loggers through it."""
    use_json = log_format is LogFormat.JSON or (
        log_format is LogFormat.AUTO and not sys.stderr.isatty()
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if use_json else _identity,
            renderer,
            _mask_rendered,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "sqlalchemy.engine", "aiosqlite", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _mask_rendered(_logger: Any, _method: str, line: Any) -> Any:
    """The rendered line with secret values masked: a traceback is formatted only after
    the redactor has seen the event, and may quote a secret."""
    return process_masker().mask(line) if isinstance(line, str) else line


def _identity(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return event_dict
