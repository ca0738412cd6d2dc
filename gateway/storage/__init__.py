"""One way to keep a SQLite file on the Pi's card: the journal, the archive and the settings store use it.

- :mod:`gateway.storage.sqlite_file`: a versioned file — open with the store's pragmas, migrate
  (one transaction per step), check integrity, recognise damage, move a damaged or newer file aside;
- :mod:`gateway.storage.owner`: the single thread that owns a connection (the event loop and the
  web thread hand it work; SQLite is never touched from two threads).
"""

from gateway.storage.owner import SqliteThread
from gateway.storage.sqlite_file import (
    NewerSchemaError,
    Pragmas,
    Schema,
    UnusableFileError,
    check_integrity,
    connect,
    is_corruption,
    migrate,
    move_aside,
    on_disk,
    script,
)

__all__ = [
    "NewerSchemaError",
    "Pragmas",
    "Schema",
    "SqliteThread",
    "UnusableFileError",
    "check_integrity",
    "connect",
    "is_corruption",
    "migrate",
    "move_aside",
    "on_disk",
    "script",
]
