from tests.integration.cli.support import cli, empty_cli

__all__ = ["cli", "empty_cli"]
