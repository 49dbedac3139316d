"""The offline OSV database: import an export, update it from OSV, match dependencies.

What the security service calls: ``import_osv``, ``update_osv``, ``database_status``
and ``find_vulnerabilities``; each takes a ``UnitOfWork`` and opens it itself.
"""

from __future__ import annotations

from orchestrate.security.advisories.archive import ArchiveLimits
from orchestrate.security.advisories.importing import ImportSummary, import_osv
from orchestrate.security.advisories.matching import find_vulnerabilities
from orchestrate.security.advisories.status import DatabaseStatus, LastImport, database_status
from orchestrate.security.advisories.updating import update_osv

__all__ = [
    "ArchiveLimits",
    "DatabaseStatus",
    "ImportSummary",
    "LastImport",
    "database_status",
    "find_vulnerabilities",
    "import_osv",
    "update_osv",
]
