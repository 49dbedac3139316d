"""The encrypted secret store, and the values every log line and event is masked with.

Use cases live in ``service`` (other capabilities import
``from orchestrate.secrets import service as secrets``), the HTTP routes in ``api`` and
the commands in ``cli``; they are not imported here, so importing this package stays
light. What is re-exported are the domain types their results are made of.
"""

from orchestrate.secrets.models import KeyRotation, SecretInfo, SecretWrite

__all__ = ["KeyRotation", "SecretInfo", "SecretWrite"]
