"""Finding ``key = value`` around a keyword, in whatever syntax the file speaks.

The engine knows where a keyword (``password``, ``token``, ``aws``) occurs; from there
the key is the identifier around it and the value whatever an assignment operator gives
it. One anchored regular expression covers the syntaxes met in repositories::

    PASSWORD = "x"            Python, Ruby, shell, .env, TOML, INI, properties
    "password": "x"           JSON, JavaScript, YAML flow style
    password: x               YAML, Ruby symbols (password: "x"), HTTP headers
    $password = 'x';  'password' => 'x'      PHP, Perl
    password := "x"           Go
    <password>x</password>    XML elements
    <add key="Password" value="x"/>          .NET configuration
    - name: DB_PASSWORD       Kubernetes and Compose env lists
      value: "x"
    setPassword("x")          Java/Kotlin setters and builders

Unquoted values count only where a bare word is a literal (configuration files); in
source code a bare word is a variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = bytes(
    1 if (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_.-")) else 0 for c in range(256)
)
_KEY_TAIL = re.compile(rb"[A-Za-z0-9_.-]*")
_ASSIGNMENT = re.compile(
    rb"""
    (?P<close>["'\]]{0,3})
    [ \t]*
    (?:
        (?P<op>:=|=>|\?=|\|\|=|=(?!=)|:(?![:/])|<-)
      | (?P<xml>>)
      | (?P<call>\()
      | \r?\n[ \t]*-?[ \t]*value[ \t]*:
      | [ \t]+value[ \t]*=
    )
    [ \t]*
    (?:
        "(?P<dq>[^"\\\r\n]{0,400}(?:\\.[^"\\\r\n]{0,400}){0,20})"
      | '(?P<sq>[^'\r\n]{0,400})'
      | `(?P<bq>[^`\r\n]{0,400})`
      | (?i:bearer|basic|token)[ \t]+(?P<scheme>[^\s"'`,;<>(){}\[\]|]{1,400})
      | (?P<bare>[^\s"'`,;<>(){}\[\]|]{1,400})
    )
    """,
    re.VERBOSE,
)

CODE_SUFFIXES = frozenset(
    [
        ".py",
        ".pyi",
        ".js",
        ".jsx",
        ".mjs",
        ".cjs",
        ".ts",
        ".tsx",
        ".go",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".rb",
        ".php",
        ".cs",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".rs",
        ".swift",
        ".m",
        ".mm",
        ".dart",
        ".lua",
        ".pl",
        ".pm",
        ".r",
        ".groovy",
        ".vue",
        ".svelte",
        ".ex",
        ".exs",
        ".erl",
        ".clj",
        ".fs",
        ".jl",
        ".hs",
    ]
)


@dataclass(frozen=True, slots=True)
class Assignment:
    key: bytes
    key_start: int
    value: bytes
    value_start: int
    value_end: int
    is_quoted: bool


def key_bounds(data: bytes, start: int, end: int) -> tuple[int, int]:
    """The identifier around ``data[start:end]`` (a keyword found inside it)."""
    key_start = start
    floor = max(0, start - 80)
    while key_start > floor and _IDENTIFIER[data[key_start - 1]]:
        key_start -= 1
    tail = _KEY_TAIL.match(data, end, min(len(data), end + 80))
    return key_start, tail.end() if tail else end


def assignment_at(data: bytes, key_start: int, key_end: int) -> Assignment | None:
    """The value assigned to the key at ``data[key_start:key_end]``, if any."""
    match = _ASSIGNMENT.match(data, key_end, min(len(data), key_end + 1200))
    if match is None:
        return None
    key = data[key_start:key_end]
    if match.group("xml") is not None and data[key_start - 1 : key_start] != b"<":
        return None  # ``password > 8`` compares; only ``<password>`` opens an element
    if match.group("call") is not None and not key.rsplit(b".", 1)[-1].lower().startswith(
        (b"set", b"with")
    ):
        return None
    for group in ("dq", "sq", "bq", "scheme", "bare"):
        value = match.group(group)
        if value is not None:
            value_start = match.start(group)
            stripped = value.strip()
            offset = value.find(stripped[:1]) if stripped else 0
            return Assignment(
                key=key,
                key_start=key_start,
                value=stripped,
                value_start=value_start + offset,
                value_end=value_start + offset + len(stripped),
                is_quoted=group != "bare" or _inside_string(data, key_start, match.end()),
            )
    return None


def _inside_string(data: bytes, key_start: int, value_end: int) -> bool:
    """``"Server=db;Password=x;"``: a bare pair between separators inside a string
    literal (a connection string) is a literal even in source code."""
    before = data[key_start - 1 : key_start]
    after = data[value_end : value_end + 1]
    return before in (b";", b'"', b"'") and after in (b";", b'"', b"'")
