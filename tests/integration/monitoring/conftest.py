from tests.integration.cli.support import cli

__all__ = ["cli"]
