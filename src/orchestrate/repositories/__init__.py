"""The repository registry: the repositories Orchestrate works on, and how they depend.

Use cases live in ``service`` (other capabilities import
``from orchestrate.repositories import service as repositories``), the HTTP routes in
``api`` and the commands in ``cli``; they are not imported here, so importing this
package stays light. What is re-exported are the domain types results are made of.
"""

from orchestrate.repositories.models import Edge, EdgeSource, Evidence, Forge, Repository

__all__ = ["Edge", "EdgeSource", "Evidence", "Forge", "Repository"]
