"""Precision and recall on the labelled corpus, side by side with detect-secrets.

The corpus (``orchestrate.testing.secrets_corpus``) is built from documented key
formats with seeded randomness: three true positives of every rule in a dozen file
formats, generic secrets and passwords in context, and hard negatives (placeholders,
environment lookups, documentation examples, hashes, lockfile integrity strings,
UUIDs, base64 images, public keys, fake fixtures). detect-secrets runs through its
Python API with its default plugins and filters, on the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import default_settings

from orchestrate.security.secrets import SecretsConfig, scan_tree
from orchestrate.testing.secrets_corpus import CorpusFile, Score, build_corpus, score, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[CorpusFile]]:
    root = tmp_path_factory.mktemp("corpus")
    files = build_corpus(seed=7)
    write_corpus(root, files)
    return root, files


def _ours(root: Path, files: list[CorpusFile]) -> Score:
    found = scan_tree(root, SecretsConfig())
    return score({(f.location.path, f.location.start_line or 0) for f in found}, files)


def _detect_secrets(root: Path, files: list[CorpusFile]) -> Score:
    collection = SecretsCollection(root=str(root))
    previous = Path.cwd()
    os.chdir(root)  # detect-secrets opens the paths it is given relative to the cwd
    try:
        with default_settings():
            for corpus_file in files:
                collection.scan_file(corpus_file.path)
    finally:
        os.chdir(previous)
    return score({(name, secret.line_number) for name, secret in collection}, files)


def test_the_corpus_has_positives_and_hard_negatives(
    corpus: tuple[Path, list[CorpusFile]],
) -> None:
    _, files = corpus
    positives = sum(len(f.secrets) for f in files)
    negatives = sum(1 for f in files if not f.secrets)

    assert positives >= 300
    assert negatives >= 60


def test_recall_and_precision_meet_the_floors_and_beat_detect_secrets(
    corpus: tuple[Path, list[CorpusFile]],
) -> None:
    root, files = corpus

    ours = _ours(root, files)
    theirs = _detect_secrets(root, files)

    assert ours.recall >= 0.95, ours
    assert ours.precision >= 0.95, ours
    assert ours.recall >= theirs.recall, (ours, theirs)
    assert ours.precision >= theirs.precision, (ours, theirs)
