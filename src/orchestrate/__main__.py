"""Allow ``python -m orchestrate``."""

from orchestrate.app.cli import main

main()
