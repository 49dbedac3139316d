"""schemathesis against a running server: no 5xx, and no answer the document contradicts.

Every operation of ``/api/openapi.json`` gets requests generated from its schema, sent
with an admin token to ``orchestrate serve`` on 127.0.0.1. A few examples per operation
keep it under two minutes; the checks are the ones a client relies on: no server error,
only documented statuses and content types, bodies that match their schemas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from tests.e2e.processes import Server, clean_env, cli, free_port

pytestmark = pytest.mark.slow

REQUEST_SECONDS = 30
STREAM_READ_SECONDS = 0.3

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def running_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    env = clean_env(home)
    server = Server(env, free_port())
    try:
        created = cli(env, "token", "create", "--name", "fuzz", "--role", "admin")
        assert created.returncode == 0, created.stderr
        yield server, created.stdout.strip()
    finally:
        server.stop()


# One test per mode: the slowest test of the suite, split so xdist workers share it.
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value
)
def test_no_operation_answers_a_5xx_or_contradicts_the_document(
    running_server: tuple[Server, str], mode: GenerationMode
) -> None:
    server, token = running_server
    schema: Any = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    failures = [
        f"{operation.label} ({mode.value}): {failure}"
        for operation in (result.ok() for result in schema.get_all_operations())
        if (failure := _fuzz(operation, mode, token)) is not None
    ]

    assert not failures, "\n\n".join(failures)


def _streams(operation: Any) -> bool:
    """Whether the operation may answer with Server-Sent Events."""
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in answer.get("content", {}) for answer in responses.values())


def _fuzz(operation: Any, mode: GenerationMode, token: str) -> str | None:
    """The first contradiction found on one operation, or None.

    Valid requests must get documented answers; invalid ones (negative mode) may only be
    refused, with a documented 4xx, never a 5xx.
    """

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=timeout
        )

    # A live stream never ends by itself: schemathesis reads an event stream until the
    # timeout and checks what arrived. Without a short one, each accepted request to
    # /api/events/stream held the test for seconds (90 of its 96 s).
    timeout = STREAM_READ_SECONDS if _streams(operation) else REQUEST_SECONDS

    try:
        run()
    except Unsatisfiable:
        return None  # nothing about this operation can be made invalid
    except (Exception, BaseExceptionGroup) as error:  # schemathesis raises a group
        return str(error)[:3000]
    return None
