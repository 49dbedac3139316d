"""The pipeline templates shipped with Orchestrate: ``pipeline templates`` and ``pipeline init``.

The templates are YAML files in ``pipelines/templates/`` inside the package (so the
wheel carries them) and are read through ``importlib.resources``, which works from a
wheel, an editable install or a zip. This module is not called ``templates.py``: a
module and a folder of the same name in one package clash.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from ruamel.yaml import YAML

from orchestrate.core.errors import NotFound

_PACKAGE = "orchestrate.pipelines"
_FOLDER = "templates"
_SUFFIX = ".yml"


@dataclass(frozen=True)
class Template:
    """A shipped pipeline: its name (what ``--template`` takes) and what it does."""

    name: str
    description: str


def list_templates() -> list[Template]:
    """Every shipped template, by name."""
    templates = []
    for name, file in sorted(_template_files().items()):
        document = YAML(typ="safe").load(file.read_text(encoding="utf-8")) or {}
        templates.append(Template(name=name, description=str(document.get("description", ""))))
    return templates


def template_text(name: str) -> str:
    """The YAML of one template, comments included, ready to write to a file."""
    files = _template_files()
    file = files.get(name)
    if file is None:
        available = sorted(files)
        close = [n for n in available if n.startswith(name)] or difflib.get_close_matches(
            name, available, n=1
        )
        suggestion = f" Did you mean '{close[0]}'?" if close else ""
        raise NotFound(
            f"There is no pipeline template '{name}'.{suggestion} "
            f"Available: {', '.join(available)}.",
            template=name,
            available=available,
        )
    return file.read_text(encoding="utf-8")


def _template_files() -> dict[str, Traversable]:
    folder = resources.files(_PACKAGE).joinpath(_FOLDER)
    return {
        entry.name.removesuffix(_SUFFIX): entry
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    }
