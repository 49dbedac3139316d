"""Rewrite the generated part of docs/api.md from the app's OpenAPI document.

    .venv/bin/python scripts/gen_api_docs.py          # rewrite docs/api.md
    .venv/bin/python scripts/gen_api_docs.py --check  # exit 1 if it is stale

The hand-written prose above the marker line in docs/api.md is kept as it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestrate.app.api_docs import regenerate

API_DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def main(arguments: list[str]) -> int:
    current = API_DOCS.read_text(encoding="utf-8")
    fresh = regenerate(current)
    if "--check" in arguments:
        if fresh != current:
            print(f"{API_DOCS} is stale: run python scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    API_DOCS.write_text(fresh, encoding="utf-8")
    print(f"Wrote {API_DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
