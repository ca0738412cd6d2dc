"""The journal's segments of blocks, and the disk budget's cut: SQL on the journal's thread.

Rules of this module:
- rows live in blocks (``journal_blocks``) in ``blocks_<n>`` tables of
  :data:`~gateway.journal_blocks.SEGMENT_ROWS` ids;
  a segment wholly at or below an id is dropped whole (``DROP TABLE``: its pages join the
  free list without being rewritten, unlike row deletes); the newest segment always stays
  (``max(id)`` tells where the id sequence stands after a restart);
- functions here work inside the caller's transaction, on the caller's list of segments
  (adopted by the journal only once the transaction committed); no in-memory state of the
  journal is touched;
- the budget (:func:`budget_cut`) limits the pages in use to the :class:`Footprint`'s share
  and drops the oldest rows first, never the ``newest`` just inserted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from gateway import journal_blocks
from gateway.journal_blocks import SEGMENT_ROWS, block_table
from gateway.journal_file import LOW_WATER, Footprint

DROP_SEGMENTS_MAX = 64  # delivered segments dropped per commit at most (~1 M rows): bounded commits


def insert(db: sqlite3.Connection, segments: list[int], lines: Sequence[bytes], first_id: int) -> None:
    """Insert rows ``first_id, first_id + 1, ...`` as compressed blocks, segment by segment."""
    journal_blocks.insert(db, segments, lines, first_id)


def slice_end(lines: Sequence[bytes], start: int, limit: int) -> int:
    """Where the transaction starting at ``start`` ends: at most ``limit`` bytes of lines, at least one row."""
    size = 0
    for end in range(start, len(lines)):
        size += len(lines[end])
        if size > limit and end > start:
            return end
    return len(lines)


def droppable(segments: Sequence[int], upto: int, *, cap: bool = True) -> list[int]:
    """Segments whose every id is ``<= upto``, except the newest (it holds the id sequence)."""
    found = [seq for seq in segments[:-1] if (seq + 1) * SEGMENT_ROWS - 1 <= upto]
    return found[:DROP_SEGMENTS_MAX] if cap else found


def drop(db: sqlite3.Connection, segments: list[int], upto: int, *, cap: bool = True) -> int | None:
    """``DROP`` the segments entirely at or below ``upto``; return the last id dropped, if any."""
    dropped = droppable(segments, upto, cap=cap)
    for seq in dropped:
        db.execute(f"DROP TABLE {block_table(seq)}")
        segments.remove(seq)
    return (dropped[-1] + 1) * SEGMENT_ROWS - 1 if dropped else None


def used_bytes(db: sqlite3.Connection, page_size: int) -> int:
    """Pages in use (free pages excluded), in bytes."""
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    return (pages - free) * page_size


def budget_cut(db: sqlite3.Connection, segments: list[int], footprint: Footprint, page_size: int, *,
               last_id: int, newest: int, deleted_upto: int, delivered_upto: int) -> int | None:
    """Past the budget, delete the oldest rows (rows every sink delivered first; never the ``newest``).

    Returns the id up to which rows are now gone, or ``None`` if nothing had to go. Blocks go
    whole: the cut reaches the end of the block holding the wanted id (never into the ``newest``
    rows, which are blocks of their own).
    """
    used = used_bytes(db, page_size)
    allowed = footprint.data_bytes  # the budget less the WAL's and one transaction's room
    if used <= allowed:
        return None
    rows = last_id - deleted_upto
    can_go = max(0, rows - newest)
    if can_go == 0:
        return None
    wanted = int((used - allowed * LOW_WATER) / (used / rows)) + 1
    delivered = max(0, delivered_upto - deleted_upto)  # free to go, lost to no one
    cut = deleted_upto + min(can_go, max(wanted, delivered))
    drop(db, segments, cut, cap=False)
    oldest = cut // SEGMENT_ROWS
    if oldest in segments and (oldest + 1) * SEGMENT_ROWS - 1 > cut:  # part of the oldest segment
        cut = journal_blocks.trim(db, oldest, cut)
    return cut
