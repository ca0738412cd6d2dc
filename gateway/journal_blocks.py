"""The journal's rows as compressed blocks (schema v4): one block per group commit and segment.

Rules of this module:
- a **block** holds the line protocol of consecutive ids ``first_id .. last_id`` (at most
  :data:`BLOCK_ROWS`, never across a segment's edge), joined by ``\\n`` and compressed with zlib
  against a fixed dictionary of the words our lines repeat; its first byte names the codec, so a
  later codec can be added without rewriting old blocks (:data:`ZDICT_V1` never changes);
- blocks live in segment tables ``blocks_<n>`` holding the ids ``[n * SEGMENT_ROWS, (n + 1) *
  SEGMENT_ROWS)``; a segment every sink delivered is dropped whole (``journal_segments``);
- each block records the measurement times it spans (``time_lo``, ``time_hi``), so an export
  skips blocks outside its window without decompressing them;
- functions here run on the journal's thread inside the caller's transaction, except the read
  helpers, which tools use on read-only connections too.

Why: one text row per reading made each group commit touch a leaf page per few readings and
store the timestamp and series key of every reading verbatim; a block per commit is a few
hundred bytes to a few KB (a 16-value meter reading compresses from ~370 to ~65 bytes in a block of 50).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence

#: Ids per segment table: ``blocks_<n>`` holds ids ``[n * SEGMENT_ROWS, (n + 1) * SEGMENT_ROWS)``.
SEGMENT_ROWS = 16_384
#: Lines per block at most (a large window, e.g. after a disk stall, is cut into several blocks),
#: so a paged fetch never decompresses much more than it returns.
BLOCK_ROWS = 2_048

_CODEC_ZLIB_V1 = 1
#: The words our lines repeat (measurements, tag keys, canonical fields): zlib starts a block
#: knowing them, which matters for the small blocks of a quiet village. Never change it: blocks
#: written with it must stay readable (a new dictionary needs a new codec byte).
ZDICT_V1 = (
    b"event,site=,kind=,subject= message=\",severity=\"warning\",severity=\"alarm\",severity=\"info\""
    b"relay,site=,building=,zone=,device=,circuit= on=true,on=false,state=\"energy_daily,gateway_health,"
    b"climate,site=,building=,zone=,device=,sensor= temperature_c=,humidity_pct=,battery_pct=,rssi_dbm="
    b"meter,site=,building=,zone=,device= voltage_v=,voltage_l1_v=,voltage_l2_v=,voltage_l3_v=,"
    b"current_a=,current_l1_a=,current_l2_a=,current_l3_a=,power_w=,power_l1_w=,power_l2_w=,power_l3_w="
    b",frequency_hz=50,power_factor=0.9,energy_import_kwh=,energy_export_kwh=,water_m3=0."
    b" 17000000000000000000\n"
)


def block_table(seq: int) -> str:
    """The name of segment ``seq`` (built from an integer: safe to put in SQL text)."""
    return f"blocks_{int(seq)}"


def block_create(seq: int) -> str:
    """The statement creating segment ``seq``."""
    return (f"CREATE TABLE {block_table(seq)} (first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL,"
            " time_lo INTEGER NOT NULL, time_hi INTEGER NOT NULL, data BLOB NOT NULL)")


def segments(db: sqlite3.Connection) -> list[int]:
    """The segments present, oldest first."""
    names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'blocks_[0-9]*'")
    return sorted(int(name[len("blocks_"):]) for (name,) in names)


def encode(lines: Sequence[bytes]) -> bytes:
    """One block's bytes: the codec byte, then the lines joined by ``\\n``, compressed."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT_V1)
    return bytes((_CODEC_ZLIB_V1,)) + packer.compress(b"\n".join(lines)) + packer.flush()


def decode(data: bytes) -> list[bytes]:
    """The lines of a block (``ValueError`` for an unknown codec, ``zlib.error`` for damage)."""
    if not data or data[0] != _CODEC_ZLIB_V1:
        raise ValueError(f"journal block with unknown codec {data[:1]!r}")
    unpacker = zlib.decompressobj(15, ZDICT_V1)
    raw = unpacker.decompress(data[1:]) + unpacker.flush()
    return raw.split(b"\n")


def line_time(line: bytes) -> int:
    """The measurement time of a line (its last word), 0 if it has none."""
    try:
        return int(line[line.rindex(b" ") + 1 :])
    except ValueError:
        return 0


def insert(db: sqlite3.Connection, segments: list[int], lines: Sequence[bytes], first_id: int) -> None:
    """Insert the rows ``first_id, first_id + 1, ...`` as blocks, creating segments as ids reach them."""
    start = 0
    while start < len(lines):
        seq = (first_id + start) // SEGMENT_ROWS
        stop = min(len(lines), (seq + 1) * SEGMENT_ROWS - first_id, start + BLOCK_ROWS)
        if seq not in segments:
            db.execute(block_create(seq))
            segments.append(seq)
        chunk = lines[start:stop]
        times = [line_time(line) for line in chunk]
        db.execute(
            f"INSERT INTO {block_table(seq)} (first_id, last_id, time_lo, time_hi, data) VALUES (?, ?, ?, ?, ?)",  # noqa: S608
            (first_id + start, first_id + stop - 1, min(times), max(times), encode(chunk)),
        )
        start = stop


class BlockCache:
    """The last few blocks decoded (a paged fetch reads on within the block it stopped in)."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._blocks: OrderedDict[tuple[int, int], list[bytes]] = OrderedDict()

    def lines(self, seq: int, first_id: int, data: bytes) -> list[bytes]:
        key = (seq, first_id)
        found = self._blocks.get(key)
        if found is None:
            found = decode(bytes(data))
            self._blocks[key] = found
            while len(self._blocks) > self.size:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(key)
        return found

    def clear(self) -> None:
        self._blocks.clear()


def rows_after(
    db: sqlite3.Connection, segments: Sequence[int], after: int, cache: BlockCache | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(id, line)`` of every row with an id above ``after``, oldest first (lazy: stop when enough)."""
    cache = cache or BlockCache(1)
    for seq in segments:
        if (seq + 1) * SEGMENT_ROWS - 1 <= after:
            continue
        query = db.execute(
            f"SELECT first_id, data FROM {block_table(seq)} WHERE last_id > ? ORDER BY first_id",  # noqa: S608
            (after,),
        )
        try:
            for first_id, data in query:
                block = cache.lines(seq, int(first_id), data)
                skip = max(0, after + 1 - int(first_id))
                for offset in range(skip, len(block)):
                    yield int(first_id) + offset, block[offset]
        finally:
            query.close()


def first_time_after(db: sqlite3.Connection, segments: Sequence[int], after: int) -> int | None:
    """The measurement time of the first row after id ``after`` (None if there is none)."""
    for _row_id, line in rows_after(db, segments, after):
        return line_time(line)
    return None


def lines_between(db: sqlite3.Connection, start_ns: int, end_ns: int) -> Iterator[bytes]:
    """The lines with a measurement time in ``[start_ns, end_ns)``, oldest id first (export)."""
    for seq in segments(db):
        query = db.execute(
            f"SELECT data FROM {block_table(seq)} WHERE time_hi >= ? AND time_lo < ? ORDER BY first_id",  # noqa: S608
            (start_ns, end_ns),
        )
        for (data,) in query:
            for line in decode(bytes(data)):
                if start_ns <= line_time(line) < end_ns:
                    yield line


def trim(db: sqlite3.Connection, seq: int, upto: int) -> int:
    """Delete the blocks of segment ``seq`` that hold ids ``<= upto``; return the last id now gone.

    A block is deleted whole, so the rows gone may reach past ``upto`` (to the end of the block
    holding it); the caller counts from the returned id.
    """
    row = db.execute(f"SELECT max(last_id) FROM {block_table(seq)} WHERE first_id <= ?", (upto,)).fetchone()  # noqa: S608
    if row is None or row[0] is None:
        return upto
    end = int(row[0])
    db.execute(f"DELETE FROM {block_table(seq)} WHERE first_id <= ?", (upto,))  # noqa: S608
    return max(upto, end)
