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
KEY_TAIL = re.compile(rb"[A-Za-z0-9_.-]{0,80}")
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


def key_start(data: bytes, start: int) -> int:
    """Where the identifier holding a keyword that starts at ``start`` starts."""
    position = start
    floor = max(0, start - 80)
    while position > floor and _IDENTIFIER[data[position - 1]]:
        position -= 1
    return position


def assignment_at(data: bytes, keyword_start: int, end: int) -> Assignment | None:
    """The value assigned to the key ending at ``end`` (around a keyword starting at
    ``keyword_start``), if any. Most keyword occurrences are no assignment; they are
    refused by one anchored match before the key's start is even looked for."""
    match = _ASSIGNMENT.match(data, end, end + 1200)
    if match is None:
        return None
    begin = key_start(data, keyword_start)
    key = data[begin:end]
    if match.group("xml") is not None and data[begin - 1 : begin] != b"<":
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
                key_start=begin,
                value=stripped,
                value_start=value_start + offset,
                value_end=value_start + offset + len(stripped),
                is_quoted=group != "bare" or _inside_string(data, begin, match.end()),
            )
    return None


def _inside_string(data: bytes, key_start: int, value_end: int) -> bool:
    """``"Server=db;Password=x;"``: a bare pair between separators inside a string
    literal (a connection string) is a literal even in source code."""
    before = data[key_start - 1 : key_start]
    after = data[value_end : value_end + 1]
    return before in (b";", b'"', b"'") and after in (b";", b'"', b"'")
