"""A sink's cursor in the journal, and the exact count of what the disk budget took from it.

Rules of this module:
- pure bookkeeping on the journal's thread (no SQLite, no clock, no lock): the journal calls
  :meth:`Cursor.fetched` on each fetch, :meth:`Cursor.acknowledged` on each ``advance`` and
  :meth:`Cursor.cut` when rows are removed (disk budget, a corrupt file replaced);
- ``last_id`` only moves forward: rows at or below it are delivered or gone;
- a row removed before the sink fetched it is **dropped** at once. A row removed while the
  sink holds it in flight (fetched, not yet acknowledged) is **at risk**: acknowledged later it
  counts as delivered (the server has it), given up (the sink fetches again from before it)
  it counts as dropped. So ``delivered + dropped + at_risk + backlog`` is every row committed,
  and the counts never go down (they are Prometheus counters);
- what is stored in the file (:attr:`Cursor.stored_dropped`) counts rows at risk as dropped:
  after a restart nothing is in flight any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

Span = tuple[int, int]  # ids lo+1 .. hi


@dataclass
class Cursor:
    """Where one sink stands."""

    last_id: int
    dropped: int = 0
    delivered: int = 0
    last_success_ns: int | None = None
    dirty: bool = False  # moved since last written to the file
    saved_id: int = -1  # ``last_id`` as last written to the file (-1: as loaded)
    held: int = 0  # the sink holds rows in flight up to this id (its latest fetch)
    at_risk: tuple[Span, ...] = field(default_factory=tuple)  # removed while in flight

    def __post_init__(self) -> None:
        if self.saved_id < 0:
            self.saved_id = self.last_id

    def saved(self) -> None:
        """Written to the file (the transaction committed)."""
        self.dirty = False
        self.saved_id = self.last_id

    @property
    def at_risk_rows(self) -> int:
        """Rows removed while in flight, neither delivered nor given up yet."""
        return sum(hi - lo for lo, hi in self.at_risk)

    @property
    def stored_dropped(self) -> int:
        """The dropped count to store: rows at risk are lost if the gateway stops now."""
        return self.dropped + self.at_risk_rows

    def copy(self) -> Cursor:
        """A copy to restore if a transaction fails."""
        return replace(self)

    def cut(self, upto: int, floor: int) -> int:
        """Every row up to ``upto`` is gone (those up to ``floor`` were already); return rows dropped now."""
        start = max(self.last_id, floor)
        if start >= upto:
            return 0
        in_flight = min(upto, self.held)
        if in_flight > start:
            self.at_risk = (*self.at_risk, (start, in_flight))
            start = in_flight
        dropped = upto - start
        self.dropped += dropped
        self.last_id = upto
        self.dirty = True
        return dropped

    def fetched(self, after: int | None, last: int | None) -> int:
        """The sink fetched rows after ``after`` (``None``: after its cursor), the last one being ``last``.

        It now holds only the rows up to ``after`` it had and those returned: rows at risk
        above ``after`` were given up. Returns the rows that became dropped.
        """
        keep = -1 if after is None else after  # from its cursor: it holds nothing it had before
        kept, given_up = _split(self.at_risk, keep)
        dropped = _rows(given_up)
        if dropped:
            self.at_risk = kept
            self.dropped += dropped
            self.dirty = True
        self.held = max(self.last_id if after is None else after, last or 0)
        return dropped

    def acknowledged(self, upto: int, now_ns: int) -> int:
        """The sink delivered every row it held up to ``upto``; return the rows counted delivered."""
        acknowledged, self.at_risk = _split(self.at_risk, upto)
        delivered = _rows(acknowledged)
        if upto > self.last_id:
            delivered += upto - self.last_id
            self.last_id = upto
        if delivered:
            self.delivered += delivered
            self.last_success_ns = now_ns
            self.dirty = True
        return delivered


def _split(spans: tuple[Span, ...], at: int) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """The parts of ``spans`` at or below ``at`` and above it."""
    below, above = [], []
    for lo, hi in spans:
        mid = min(hi, max(lo, at))
        if mid > lo:
            below.append((lo, mid))
        if hi > mid:
            above.append((mid, hi))
    return tuple(below), tuple(above)


def _rows(spans: tuple[Span, ...]) -> int:
    return sum(hi - lo for lo, hi in spans)
