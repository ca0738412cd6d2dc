"""The shared vocabulary: readings, commands and events, as small frozen values.

Rules of this module:
- it imports nothing of ours, so ``drivers/`` and ``rules/`` can both use it;
- every value validates itself in ``__post_init__``: a ``Reading`` that exists is
  writable to InfluxDB (names are valid, floats are finite, the time is plausible);
- times are UTC nanoseconds since the epoch (``time_ns``), never naive datetimes.

Example::

    >>> r = Reading.make("meter", {"site": "st-martin", "device": "mairie-general"},
    ...                  {"power_w": 1234.5, "energy_import_kwh": None}, time_ns=1_700_000_000_000_000_000)
    >>> r.field_map()
    {'power_w': 1234.5}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

FieldValue = float | int | bool | str
Severity = Literal["info", "warning", "alarm"]

#: Measurement families on the wire (DESIGN.md, "Naming on the wire").
MEASUREMENTS = frozenset({"meter", "climate", "relay", "event", "input", "gateway"})

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: 2001-09-09: anything earlier is a Pi that booted without a clock (REFERENCE.md: "dated 1970").
MIN_PLAUSIBLE_TIME_NS = 1_000_000_000 * 1_000_000_000


class ModelError(ValueError):
    """A value that cannot exist: a bad name, a non-finite number, an impossible time."""


#: Names already found valid (a site has a few dozen: every reading re-checks the same ones); bounded.
_VALID_NAMES: set[str] = set()
_VALID_NAMES_MAX = 4096


def _check_name(kind: str, name: str) -> None:
    if name in _VALID_NAMES:
        return
    if not _NAME.fullmatch(name):
        raise ModelError(f"invalid {kind} name {name!r}: lower-case letters, digits and '_' only")
    if len(_VALID_NAMES) < _VALID_NAMES_MAX:
        _VALID_NAMES.add(name)


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement of one device at one instant.

    ``tags`` and ``fields`` are sorted tuples of pairs so that readings are hashable and
    compare equal regardless of the order they were built in. Use :meth:`make`.
    """

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, FieldValue], ...]
    time_ns: int

    def __post_init__(self) -> None:
        _check_name("measurement", self.measurement)
        if not self.fields:
            raise ModelError(f"{self.measurement}: a reading needs at least one field")
        for key, tag_value in self.tags:
            _check_name("tag", key)
            if not tag_value or "\n" in tag_value:
                raise ModelError(f"tag {key!r} must be a non-empty single-line string")
        for key, value in self.fields:
            _check_name("field", key)
            if isinstance(value, float) and not math.isfinite(value):
                raise ModelError(f"field {key!r} is not a finite number: {value!r}")
            if isinstance(value, str) and len(value) > 4096:
                raise ModelError(f"field {key!r} is longer than 4096 characters")
        if self.time_ns < MIN_PLAUSIBLE_TIME_NS:
            raise ModelError(f"implausible timestamp {self.time_ns} (clock not set?)")

    @classmethod
    def make(
        cls,
        measurement: str,
        tags: Mapping[str, str | None],
        fields: Mapping[str, FieldValue | None],
        *,
        time_ns: int,
    ) -> Reading:
        """Build a reading, dropping empty tags and ``None`` fields (missing values)."""
        return cls(
            measurement=measurement,
            tags=tuple(sorted((k, v) for k, v in tags.items() if v)),
            fields=tuple(sorted((k, v) for k, v in fields.items() if v is not None)),
            time_ns=time_ns,
        )

    def tag(self, name: str) -> str | None:
        """The value of one tag, or ``None``."""
        for key, value in self.tags:
            if key == name:
                return value
        return None

    def field_map(self) -> dict[str, FieldValue]:
        """The fields as a plain dict."""
        return dict(self.fields)

    @property
    def series(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The series identity: measurement and tag set (InfluxDB's notion)."""
        return (self.measurement, self.tags)


@dataclass(frozen=True, slots=True)
class Command:
    """The desired state of one output (a relay), with the reason for it."""

    output: str
    on: bool
    reason: str

    def __post_init__(self) -> None:
        if not self.output:
            raise ModelError("a command needs an output id")


@dataclass(frozen=True, slots=True)
class Event:
    """Something a person should know about: a leak, a stale sensor, a sink in trouble."""

    kind: str
    subject: str
    message: str
    time_ns: int
    severity: Severity = "info"
    data: tuple[tuple[str, FieldValue], ...] = field(default=())

    def __post_init__(self) -> None:
        _check_name("event kind", self.kind)
        if not self.subject:
            raise ModelError("an event needs a subject")


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A device that does not answer, since when and why (shown once, not every poll)."""

    device: str
    since_ns: int
    error: str
