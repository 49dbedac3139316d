"""Recognising a licence from its text (a Go module's LICENSE file, a Python
distribution whose License field holds the whole text).

A light match on phrases each licence's text contains, checked from the most specific
family to the least (AGPL and LGPL texts also say "General Public License"). Plain
substring tests on whitespace-collapsed lowercase text: no regular expressions, so a
hostile file cannot make it backtrack, and at most the first 64 KiB is read. Anything not
recognised is ``None``: an honest unknown beats a guess.
"""

from __future__ import annotations

MAX_TEXT_CHARS = 64 * 1024

_MIT = "permission is hereby granted, free of charge, to any person obtaining a copy"
_BSD = "redistribution and use in source and binary forms, with or without modification"
_ISC = (
    "permission to use, copy, modify, and/or distribute this software for any purpose "
    "with or without fee is hereby granted"
)
_ISC_OLD = (
    "permission to use, copy, modify, and distribute this software for any purpose "
    "with or without fee is hereby granted"
)
_UNLICENSE = "this is free and unencumbered software released into the public domain"


def license_from_text(text: str) -> str | None:
    """The SPDX id whose text ``text`` is, when it is one of the common licences."""
    body = " ".join(text[:MAX_TEXT_CHARS].lower().split())
    if "gnu affero general public license" in body:
        return "AGPL-3.0-only" if "version 3" in body else None
    if "gnu lesser general public license" in body:
        if "version 3" in body:
            return "LGPL-3.0-only"
        return "LGPL-2.1-only" if "version 2.1" in body else None
    if "gnu general public license" in body:
        if "version 3, 29 june 2007" in body:
            return "GPL-3.0-only"
        return "GPL-2.0-only" if "version 2, june 1991" in body else None
    if (
        "mozilla public license version 2.0" in body
        or "mozilla public license, version 2.0" in body
    ):
        return "MPL-2.0"
    if "apache license" in body and "version 2.0" in body:
        return "Apache-2.0"
    if _MIT in body:
        return "MIT"
    if _ISC in body or _ISC_OLD in body:
        return "ISC"
    if _BSD in body:
        if "advertising materials" in body:
            return "BSD-4-Clause"
        return (
            "BSD-3-Clause"
            if "neither the name" in body or "names of its" in body
            else "BSD-2-Clause"
        )
    if _UNLICENSE in body:
        return "Unlicense"
    return None
