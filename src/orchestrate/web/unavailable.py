"""Which failures mean "try again later": a 503 with ``Retry-After``, not a 500.

A locked SQLite database, a full disk, a PostgreSQL server that refuses connections or
has none left are conditions of the server, not bugs and not the client's fault; the
same request succeeds once they pass. Each is recognised by its code rather than its
text: ``sqlite_errorcode`` (Python ≥ 3.11), PostgreSQL's SQLSTATE, or ``errno``.
"""

from __future__ import annotations

import errno

__all__ = ["unavailable_for"]

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_RETRY_AFTER = {
    5: 1,  # SQLITE_BUSY: another writer holds the database past the busy timeout
    6: 1,  # SQLITE_LOCKED
    13: 60,  # SQLITE_FULL: the disk (or max_page_count) is full
}
# PostgreSQL SQLSTATE classes and codes.
_POSTGRES_RETRY_AFTER = {
    "53": 30,  # insufficient resources: disk full (53100), out of memory, too many connections
    "08": 5,  # connection exception
    "57P03": 5,  # cannot connect now: starting up or shutting down
    "55P03": 1,  # lock not available
    "40P01": 1,  # deadlock detected
}
_ERRNO_RETRY_AFTER = {
    errno.ENOSPC: 60,
    errno.EDQUOT: 60,
    errno.ECONNREFUSED: 5,
    errno.ECONNRESET: 5,
    errno.EMFILE: 5,
}


def unavailable_for(error: BaseException | None) -> int | None:
    """Seconds to wait before retrying, when ``error`` (or what caused it) is a passing
    server condition; None for anything else."""
    for _ in range(5):  # drivers wrap the error they got once or twice
        if error is None:
            return None
        seconds = _retry_after(error)
        if seconds is not None:
            return seconds
        error = error.__cause__ or error.__context__
    return None


def _retry_after(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_RETRY_AFTER.get(code & 0xFF)
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        return _POSTGRES_RETRY_AFTER.get(sqlstate, _POSTGRES_RETRY_AFTER.get(sqlstate[:2]))
    if isinstance(error, OSError):
        return _ERRNO_RETRY_AFTER.get(error.errno or 0)
    return None
