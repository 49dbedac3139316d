"""Whatever a lockfile holds, a reader returns dependencies or a ValidationFailed."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies import read_file
from orchestrate.security.dependencies.discovery import READERS

NAMES = [*sorted(READERS), "requirements.txt"]
LOCKFILES = Path(__file__).parents[3] / "fixtures" / "security" / "lockfiles"
SAMPLES = sorted(path for path in LOCKFILES.rglob("*") if path.is_file() and path.name in NAMES)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["version", "dev", "license", "name", "packages",
                                       "dependencies", "default", "develop", "link", "",
                                       "source", "editable", "optional-dependencies",
                                       "dev-dependencies", "groups", "category"])
                      | st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value if item is not None) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    return '""'


def read_or_refuse(name: str, content: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            found = read_file(root / name, root)
        except ValidationFailed:
            return
        assert isinstance(found, list)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), content=st.text(max_size=300))
def test_arbitrary_text_is_read_or_refused(name: str, content: str) -> None:
    read_or_refuse(name, content)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["package-lock.json", "Pipfile.lock", "npm-shrinkwrap.json"]),
    document=json_values,
)
def test_arbitrary_json_is_read_or_refused(name: str, document: object) -> None:
    read_or_refuse(name, json.dumps(document))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_a_damaged_real_lockfile_is_read_or_refused(sample: Path, data: st.DataObject) -> None:
    text = sample.read_text()
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    junk = data.draw(st.text(max_size=10))
    read_or_refuse(sample.name, text[:start] + junk + text[end:])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["poetry.lock", "uv.lock", "Cargo.lock"]),
    packages=st.lists(json_values, max_size=4),
)
def test_arbitrary_toml_packages_are_read_or_refused(name: str, packages: list[object]) -> None:
    read_or_refuse(name, f"package = {toml_value(packages)}\n")
