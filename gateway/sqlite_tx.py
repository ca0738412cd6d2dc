"""Transactions on a SQLite connection in autocommit mode (``isolation_level=None``).

Rules of this module:
- :func:`rollback` never raises: on SQLITE_FULL, IOERR, NOMEM or BUSY SQLite may already have
  rolled the transaction back itself, and a ``ROLLBACK`` then fails with "cannot rollback - no
  transaction is active", which would hide the error that matters;
- the callers keep their in-memory state untouched until ``COMMIT`` returned (see
  docs/storage.md): a rollback then has nothing to undo but the file.
"""

from __future__ import annotations

import contextlib
import sqlite3


def rollback(db: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already; never raises."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
