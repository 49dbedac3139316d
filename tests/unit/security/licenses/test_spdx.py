"""SPDX expressions: normalising what metadata says, and the policy's verdict on it."""

from __future__ import annotations

import time

import pytest

from orchestrate.security.licenses import (
    LicensePolicy,
    Verdict,
    default_policy,
    evaluate,
    normalise_license,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MIT", "MIT"),
        ("mit or apache-2.0", "MIT OR Apache-2.0"),
        ("Apache 2.0", "Apache-2.0"),
        ("Apache License, Version 2.0", "Apache-2.0"),
        ("MIT License", "MIT"),
        ("The MIT License", "MIT"),
        ("License :: OSI Approved :: MIT License", "MIT"),
        ("License :: OSI Approved :: Apache Software License 2.0", "Apache-2.0"),
        (
            "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)",
            "GPL-3.0-or-later",
        ),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("GPL-3.0", "GPL-3.0-only"),
        ("BSD-3-Clause", "BSD-3-Clause"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("LicenseRef-Acme-Commercial", "LicenseRef-Acme-Commercial"),
        ("(MIT OR Apache-2.0) AND Unicode-3.0", "(MIT OR Apache-2.0) AND Unicode-3.0"),
    ],
)
def test_known_names_and_expressions_normalise_to_spdx(text: str, expected: str) -> None:
    assert normalise_license(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "BSD",
        "BSD License",
        "License :: OSI Approved :: BSD License",
        "GPL",
        "Apache Software License",
        "Dual licensed",
        "MIT OR GPL",
        "(MIT",
        "",
        "Proprietary",
    ],
)
def test_ambiguous_or_unknown_names_stay_unknown(text: str) -> None:
    assert normalise_license(text) is None


def test_a_hostile_megabyte_of_licence_text_is_refused_quickly() -> None:
    started = time.monotonic()

    assert normalise_license("MIT OR (" * 100_000) is None
    assert normalise_license("(" * 400 + "MIT" + ")" * 400) is None

    assert time.monotonic() - started < 2


POLICY = LicensePolicy(
    allowed=frozenset({"MIT", "Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"}),
    review=frozenset({"GPL-2.0-only", "LGPL-2.1-only"}),
    denied=frozenset({"AGPL-3.0-only", "LicenseRef-Acme-Commercial"}),
    unlisted=Verdict.REVIEW,
)


@pytest.mark.parametrize(
    ("expression", "verdict", "deciding"),
    [
        ("MIT", Verdict.ALLOWED, ("MIT",)),
        ("MIT OR AGPL-3.0-only", Verdict.ALLOWED, ("MIT",)),
        ("MIT AND AGPL-3.0-only", Verdict.DENIED, ("AGPL-3.0-only",)),
        ("AGPL-3.0-only OR LGPL-2.1-only", Verdict.REVIEW, ("LGPL-2.1-only",)),
        ("MIT AND (AGPL-3.0-only OR Apache-2.0)", Verdict.ALLOWED, ("MIT", "Apache-2.0")),
        ("(MIT OR GPL-2.0-only) AND LGPL-2.1-only", Verdict.REVIEW, ("LGPL-2.1-only",)),
        (
            "GPL-2.0-only WITH Classpath-exception-2.0",
            Verdict.ALLOWED,
            ("GPL-2.0-only WITH Classpath-exception-2.0",),
        ),
        # An exception the policy does not name is judged as the licence it modifies.
        (
            "GPL-2.0-only WITH Autoconf-exception-2.0",
            Verdict.REVIEW,
            ("GPL-2.0-only WITH Autoconf-exception-2.0",),
        ),
        ("LicenseRef-Acme-Commercial", Verdict.DENIED, ("LicenseRef-Acme-Commercial",)),
        ("Zlib", Verdict.REVIEW, ("Zlib",)),
    ],
)
def test_or_takes_the_best_choice_and_and_needs_every_part(
    expression: str, verdict: Verdict, deciding: tuple[str, ...]
) -> None:
    evaluation = evaluate(expression, POLICY)

    assert (evaluation.verdict, evaluation.deciding) == (verdict, deciding)


def test_the_default_policy_allows_permissive_reviews_copyleft_and_denies_network_copyleft() -> (
    None
):
    policy = default_policy()

    assert evaluate("MIT OR Apache-2.0", policy).verdict is Verdict.ALLOWED
    assert evaluate("BSD-3-Clause AND ISC", policy).verdict is Verdict.ALLOWED
    assert evaluate("GPL-3.0-or-later", policy).verdict is Verdict.REVIEW
    assert evaluate("MPL-2.0", policy).verdict is Verdict.REVIEW
    assert evaluate("AGPL-3.0-only", policy).verdict is Verdict.DENIED
    assert evaluate("SSPL-1.0", policy).verdict is Verdict.DENIED
    assert evaluate("LicenseRef-Unheard-Of", policy).verdict is Verdict.REVIEW
