"""How a device has been answering: healthy or suspect, how long to back off, and what to say (once).

Rules of this module:
- pure: poll outcomes come in, decisions come out; no I/O, no clock, no logging;
- a device is **suspect** from its first failed poll until it answers its hold-off in a row:
  :data:`HOLD_OFF_POLLS` polls, doubled for each flap of the episode (at most
  :data:`MAX_HOLD_OFF_POLLS`), so a device that keeps flapping stays suspect; a suspect device is
  polled after the healthy ones of its round, within its share of the time left
  (:mod:`drivers.modbus_schedule`), so it cannot eat its neighbours' slots;
- **backoff**: after a failure the next poll waits ``2**k`` intervals, ``k`` = failures in a row;
  a **flapping** device (it went from answering to failing :data:`FLAPS` times or more within
  its last :data:`WINDOW` polls) waits 2 intervals even after a success; the caller caps the wait;
- **what to say**: ``down`` at the first failure of a healthy device (log once, report
  ``Unavailable``), ``flap`` when a suspect device fails again after a success (count it, report
  ``Unavailable``, no log line), ``recovered`` when a suspect device ends its hold-off (log once).

Example::

    >>> h = Health()
    >>> [h.record(ok) for ok in (True, False, True, False)]
    [None, 'down', None, 'flap']
    >>> h.suspect, h.flapping, h.wait_intervals()
    (True, True, 2)
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

#: Polls in a row a suspect device must answer before it is healthy again ("recovered") ...
HOLD_OFF_POLLS = 10
#: ... doubled for each flap of the episode, up to this.
MAX_HOLD_OFF_POLLS = 80
#: Polls looked back on to tell a flapping device.
WINDOW = 10
#: Answering-to-failing transitions within the window that make a device flapping.
FLAPS = 2
#: Highest backoff exponent (the caller's cap, max_backoff_s, is usually reached long before).
MAX_EXPONENT = 16

Change = Literal["down", "flap", "recovered"]


@dataclass
class Health:
    """One device's recent outcomes (``True`` = answered) and what they mean."""

    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))
    failures_in_row: int = 0
    answers_in_row: int = 0
    suspect: bool = False
    episode_failures: int = 0  # failed polls since the device became suspect
    episode_flaps: int = 0

    def record(self, ok: bool) -> Change | None:
        """Add one poll's outcome; what changed, if anything worth saying."""
        previous = self.outcomes[-1] if self.outcomes else True
        self.outcomes.append(ok)
        if ok:
            self.failures_in_row = 0
            self.answers_in_row += 1
            if self.suspect and self.answers_in_row >= self.hold_off_polls:
                self.suspect = False
                return "recovered"
            return None
        self.failures_in_row += 1
        self.answers_in_row = 0
        if not self.suspect:
            self.suspect = True
            self.episode_failures, self.episode_flaps = 1, 0
            return "down"
        self.episode_failures += 1
        if previous:
            self.episode_flaps += 1
            return "flap"
        return None

    @property
    def hold_off_polls(self) -> int:
        """Polls in a row this suspect device must answer to be healthy again."""
        return int(min(HOLD_OFF_POLLS * 2 ** min(self.episode_flaps, 8), MAX_HOLD_OFF_POLLS))

    @property
    def flapping(self) -> bool:
        """Went from answering to failing at least :data:`FLAPS` times within the window."""
        return sum(1 for a, b in itertools.pairwise(self.outcomes) if a and not b) >= FLAPS

    def wait_intervals(self) -> int:
        """How many poll intervals until the next poll (before the caller's cap)."""
        if self.failures_in_row:
            return int(2 ** min(self.failures_in_row, MAX_EXPONENT))
        return 2 if self.flapping else 1
