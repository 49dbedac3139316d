"""docs/api.md's reference is generated from the OpenAPI document and kept fresh."""

from __future__ import annotations

from pathlib import Path

from orchestrate.app.api_docs import MARKER, openapi_document, regenerate

API_DOCS = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def test_docs_api_md_is_what_the_generator_writes_now() -> None:
    current = API_DOCS.read_text(encoding="utf-8")

    assert regenerate(current) == current, (
        "docs/api.md is stale: run .venv/bin/python scripts/gen_api_docs.py"
    )


def test_every_operation_of_the_app_has_a_section_with_its_permission() -> None:
    document, permissions = openapi_document()
    text = API_DOCS.read_text(encoding="utf-8").split(MARKER, 1)[1]

    for path, operations in document["paths"].items():
        for method in operations:
            heading = f"#### {method.upper()} {path}\n"
            assert heading in text
            section = text.split(heading, 1)[1].split("\n#### ", 1)[0]
            assert f"Permission: {permissions[(method, path)]}." in section


def test_the_hand_written_prose_above_the_marker_is_kept_and_the_rest_replaced() -> None:
    stale = "# HTTP API\n\n## Lists and pagination\n\nBy hand.\n\n" + MARKER + "\n\nold routes\n"

    fresh = regenerate(stale)

    assert fresh.startswith("# HTTP API\n\n## Lists and pagination\n\nBy hand.\n\n" + MARKER)
    assert "old routes" not in fresh
    assert "#### GET /api/pipelines\n" in fresh


def test_tokens_and_secrets_need_an_admin_and_the_webhook_receiver_no_token() -> None:
    _, permissions = openapi_document()

    assert permissions[("get", "/api/tokens")] == "admin"
    assert permissions[("put", "/api/secrets/{name}")] == "admin"
    assert permissions[("post", "/webhooks/github")].startswith("none")
    assert permissions[("get", "/api/pipelines")] == "viewer"
    assert permissions[("post", "/api/pipelines")] == "operator"
