"""Allow ``python -m orchestrate``."""

from orchestrate.cli.app import main

main()
