"""Malformed and hostile lockfiles: a ValidationFailed naming the file and line, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies import _input, read_file


def refused(tmp_path: Path, name: str, text: str | bytes) -> ValidationFailed:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ValidationFailed) as caught:
        read_file(path, tmp_path)
    return caught.value


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("package-lock.json", '{\n  "packages": {\n    "x": ,\n}', "package-lock.json, line 3"),
        ("Pipfile.lock", "[1, 2", "Pipfile.lock, line 1"),
        ("poetry.lock", '[[package]]\nname = "a"\nversion = \n', "poetry.lock, line 3"),
        ("uv.lock", "[[package]]\nname = 'x\n", "uv.lock, line 2"),
        (
            "Cargo.lock",
            "version = 3\n[[package]]\nversion = '1'\nsource = 'registry+x'\n",
            "Cargo.lock",
        ),
        ("go.sum", "golang.org/x/net v0.5.0 h1:abc=\nnot a go.sum line\n", "go.sum, line 2"),
        ("yarn.lock", '# yarn lockfile v1\n\nlodash@^4:\n  version "4\n', "yarn.lock, line 4"),
        ("yarn.lock", "# yarn lockfile v1\n\nno-colon-here\n", "yarn.lock, line 3"),
        ("yarn.lock", '__metadata:\n  version: 6\n"a@npm:1": [\n', "yarn.lock"),
        (
            "requirements.txt",
            "flask==2.0\nthis is not a requirement!\n",
            "requirements.txt, line 2",
        ),
    ],
)
def test_a_malformed_file_is_a_validation_error_naming_file_and_line(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    error = refused(tmp_path, name, text)

    assert str(error).startswith(where)


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    error = refused(tmp_path, "requirements.txt", b"flask==2.0\n\xff\xfe\n")

    assert "requirements.txt, line 2: is not UTF-8" in str(error)


def test_a_file_over_the_size_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_input, "MAX_FILE_BYTES", 1000)

    error = refused(tmp_path, "package-lock.json", "{" + " " * 2000 + "}")

    assert "larger than" in str(error)


def test_deeply_nested_json_is_refused_not_a_recursion_traceback(tmp_path: Path) -> None:
    error = refused(tmp_path, "package-lock.json", "[" * 100_000 + "]" * 100_000)

    assert "package-lock.json" in str(error)


def test_a_hostile_requirements_line_is_parsed_quickly(tmp_path: Path) -> None:
    hostile = "a" + "[" * 4000 + " ; " + "(" * 2000 + "\n"
    started = time.monotonic()

    refused(tmp_path, "requirements.txt", hostile)

    assert time.monotonic() - started < 2.0


def test_a_hostile_yarn_header_is_parsed_quickly(tmp_path: Path) -> None:
    hostile = '"' + "@" * 200_000 + ", " * 50_000 + ':\n  version "1"\n'
    started = time.monotonic()

    found = read_file_or_error(tmp_path, "yarn.lock", hostile)

    assert time.monotonic() - started < 2.0
    assert found is not None


def read_file_or_error(tmp_path: Path, name: str, text: str) -> object:
    (tmp_path / name).write_text(text)
    try:
        return read_file(tmp_path / name, tmp_path)
    except ValidationFailed as error:
        return error


def test_a_too_long_requirements_line_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "requirements.txt", "a==1\n" + "b" * 20_000 + "\n")

    assert "line 2" in str(error)


def test_a_yarn_berry_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["__metadata:", "  version: 6", 'a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    error = refused(tmp_path, "yarn.lock", "\n".join(lines) + "\n")

    assert "yarn.lock" in str(error)
