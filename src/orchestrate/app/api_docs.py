"""docs/api.md's route reference, written from the app's own OpenAPI document.

A hand-kept list of routes drifted from the app (the agent routes were missing), so the
reference part of docs/api.md is generated: every operation with its summary, the
permission it needs, its parameters, request body, responses and problem responses,
then every schema. The prose above ``MARKER`` (authentication, errors, pagination) is
written by hand and kept as it is. ``scripts/gen_api_docs.py`` rewrites the file; a test
fails when it is stale.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from orchestrate.app import capabilities
from orchestrate.app.http import create_app
from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.web.deps import require_admin

__all__ = ["MARKER", "openapi_document", "regenerate", "render_reference"]

MARKER = (
    "<!-- Everything below is generated from the OpenAPI document by "
    "scripts/gen_api_docs.py: edit the routes and schemas, then run it. -->"
)
_WRITES = {"post", "put", "patch", "delete"}
_PROBLEM = "#/components/schemas/Problem"

Document = dict[str, Any]


def openapi_document() -> tuple[Document, dict[tuple[str, str], str]]:
    """The app's OpenAPI document and the role each operation needs, under default settings."""
    with tempfile.TemporaryDirectory(prefix="orchestrate-api-docs-") as home:
        settings = Settings(home=Path(home), database_url=None)
        runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
        document: Document = create_app(runtime).openapi()
        return document, _permissions(document)


def regenerate(current: str) -> str:
    """``current`` (docs/api.md) with everything after ``MARKER`` written anew."""
    header = current.split(MARKER, 1)[0].rstrip() + "\n\n"
    document, permissions = openapi_document()
    return header + MARKER + "\n\n" + render_reference(document, permissions)


def _permissions(document: Document) -> dict[tuple[str, str], str]:
    """The least role of each operation: none without a bearer token, admin where the
    route depends on ``require_admin``, otherwise viewer to read and operator to write."""
    admin_only = {
        (method.lower(), f"/api{route.path_format}")
        for router in capabilities.routers()
        for route in router.routes
        if isinstance(route, APIRoute) and require_admin in _dependency_calls(route.dependant)
        for method in route.methods or ()
    }
    found: dict[tuple[str, str], str] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                role = "none: no bearer token"
            elif (method, path) in admin_only:
                role = "admin"
            else:
                role = "operator" if method in _WRITES else "viewer"
            found[(method, path)] = role
    return found


def _dependency_calls(dependant: Any) -> set[Any]:
    calls = set()
    for dependency in dependant.dependencies:
        calls.add(dependency.call)
        calls |= _dependency_calls(dependency)
    return calls


def render_reference(document: Document, permissions: dict[tuple[str, str], str]) -> str:
    """The Markdown of every operation, grouped by tag, then every schema."""
    lines = ["## Endpoints", ""]
    by_tag: dict[str, list[tuple[str, str, Document]]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, method, operation))
    lines += ["| method and path | what |", "|---|---|"]
    for tag in sorted(by_tag):
        for path, method, operation in by_tag[tag]:
            anchor = _anchor(f"{method.upper()} {path}")
            summary = _first_line(operation).replace("|", "\\|")
            lines.append(f"| [`{method.upper()} {path}`](#{anchor}) | {summary} |")
    lines.append("")
    for tag in sorted(by_tag):
        lines += [f"### {tag}", ""]
        for path, method, operation in by_tag[tag]:
            role = permissions[(method, path)]
            lines += _operation(path, method, operation, role)
    lines += ["## Schemas", ""]
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        lines += _schema(name, schema)
    return "\n".join(lines).rstrip() + "\n"


def _operation(path: str, method: str, operation: Document, role: str) -> list[str]:
    lines = [f"#### {method.upper()} {path}", ""]
    description = operation.get("description") or operation.get("summary", "")
    lines += [_one_paragraph(description), "", f"Permission: {role}.", ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for parameter in parameters:
            schema = parameter.get("schema", {})
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {_type(schema)} "
                f"| {'yes' if parameter.get('required') else 'no'} "
                f"| {_cell(parameter.get('description') or schema.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        lines += [f"Request body: {_content(body.get('content', {}))}.", ""]
    lines += _responses(operation.get("responses", {}))
    return lines


def _responses(responses: Document) -> list[str]:
    lines = []
    problems = []
    for status, response in sorted(responses.items()):
        content = response.get("content", {})
        schemas = [media.get("schema", {}).get("$ref") for media in content.values()]
        if schemas and all(ref == _PROBLEM for ref in schemas):
            problems.append(status)
            continue
        shape = f": {_content(content)}" if content else ""
        lines.append(f"- `{status}` {_cell(response.get('description', ''))}{shape}")
    if problems:
        lines.append(f"- problems ([Problem](#problem)): {', '.join(problems)}")
    return [*lines, ""]


def _content(content: Document) -> str:
    parts = []
    for media_type, media in content.items():
        schema = media.get("schema")
        parts.append(f"`{media_type}` {_type(schema)}" if schema else f"`{media_type}`")
    return "; ".join(parts) or "none"


def _schema(name: str, schema: Document) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [_one_paragraph(schema["description"]), ""]
    if "enum" in schema:
        return [*lines, "One of: " + ", ".join(f"`{value}`" for value in schema["enum"]), ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {_type(schema)}.", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, spec in properties.items():
        lines.append(
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} "
            f"| {_cell(spec.get('description', ''))} |"
        )
    return [*lines, ""]


def _type(schema: Document | None) -> str:
    """A short, linked rendering of a JSON Schema: ``list[[StepOut](#stepout)] | null``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return " \\| ".join(_type(part) for part in schema[combinator])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_type(schema.get('items'))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    text = str(kind or "any")
    if schema.get("format"):
        text += f" ({schema['format']})"
    limits = [
        f"{label} {schema[key]}"
        for key, label in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"))
        if key in schema
    ]
    if "default" in schema and schema["default"] is not None:
        limits.append(f"default `{schema['default']}`")
    return f"{text}, {', '.join(limits)}" if limits else text


def _first_line(operation: Document) -> str:
    text = operation.get("description") or operation.get("summary", "")
    return _one_paragraph(text.split("\n\n", 1)[0])


def _one_paragraph(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _one_paragraph(text).replace("|", "\\|")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but ``-`` and ``_`` dropped."""
    lowered = heading.strip().lower()
    return re.sub(r"[^\w\- ]", "", lowered).replace(" ", "-")
