"""What ``repo add`` was given: a URL to clone, or a path to a work tree.

A URL is one of the transports git clones over the network or from a file —
``http(s)://``, ``ssh://``, ``git://``, ``file://`` — or the scp-like ``[user@]host:path``
(recognised as git does: a colon before any slash). Everything else with a ``scheme://``
or git's ``transport::address`` form (``ext::`` runs a command) is refused, and so is
a URL carrying a password: it would be stored in the registry and shown by
``repo show``; a git credential helper or an SSH key keeps it out of both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from orchestrate.core.errors import ValidationFailed

ALLOWED_SCHEMES = ("http", "https", "ssh", "git", "file")
SOURCE_MAX_LENGTH = 2000

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:(?!:)[^\s]+$")


@dataclass(frozen=True)
class CloneUrl:
    url: str


@dataclass(frozen=True)
class LocalPath:
    path: Path


Source = CloneUrl | LocalPath


def classify_source(source: str) -> Source:
    """Whether ``source`` is a URL to clone or a local path; ``ValidationFailed`` if neither."""
    text = source.strip()
    if not text or len(text) > SOURCE_MAX_LENGTH or any(ord(c) < 32 for c in text):
        raise ValidationFailed(
            "Give a path to a git work tree or a URL to clone", field="source", source=source
        )
    if text.startswith("-"):
        raise ValidationFailed(
            f"{text!r} is neither a path nor a URL (it starts with '-')", field="source"
        )
    scheme = _SCHEME.match(text)
    if scheme is not None:
        return CloneUrl(_check_url(text, scheme.group(1).lower()))
    if "::" in text.split("/", 1)[0]:
        raise ValidationFailed(
            f"Unsupported URL {text!r}: git's 'transport::address' form is not allowed; "
            f"use one of {_schemes()} or user@host:path",
            field="source",
        )
    if ":" in text.split("/", 1)[0] and _SCP_LIKE.match(text):
        return CloneUrl(text)
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise ValidationFailed(
            f"The path {text!r} is relative: give an absolute path (the CLI resolves it "
            "against the current directory)",
            field="source",
        )
    return LocalPath(path)


def _check_url(url: str, scheme: str) -> str:
    if scheme not in ALLOWED_SCHEMES:
        raise ValidationFailed(
            f"Unsupported URL scheme {scheme!r} in {url!r}: use one of {_schemes()} "
            "or user@host:path",
            field="source",
        )
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise ValidationFailed(f"Malformed URL {url!r}: {error}", field="source") from None
    if parts.password is not None:
        raise ValidationFailed(
            "The URL carries a password, which would be stored and shown with the "
            "repository: use a git credential helper or an SSH key instead",
            field="source",
        )
    if scheme != "file" and not parts.hostname:
        raise ValidationFailed(f"The URL {url!r} names no host", field="source")
    return url


def _schemes() -> str:
    return ", ".join(f"{scheme}://" for scheme in ALLOWED_SCHEMES)


_PASSWORD = re.compile(r"(://[^/\s:@]*):[^/\s@]*@")


def without_password(url: str) -> str:
    """``url`` with any password in it removed (a remote configured by the user may hold one)."""
    return _PASSWORD.sub(r"\1@", url)


def against(source: str, base: Path) -> str:
    """``source`` with a relative path made absolute against ``base`` (the CLI's directory);
    URLs and absolute paths unchanged."""
    text = source.strip()
    first = text.split("/", 1)[0]
    if _SCHEME.match(text) or "::" in first or (":" in first and _SCP_LIKE.match(text)):
        return text
    path = Path(text).expanduser()
    return text if path.is_absolute() else str(base / path)
