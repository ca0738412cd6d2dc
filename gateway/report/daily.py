"""Per-day figures of each building over the archive: energy, water, heating hours, façade lighting, DJU.

Rules of this module:
- a building's electricity (kWh) and water (m³) are its meters' counter deltas summed per local day;
  when a building has general meters (no ``zone``) only those count, else its zone meters (a
  general meter and its sub-meters are never added together);
- heating hours are the sum, over the building's heated zones, of the hourly mean of the control
  loop's ``heater_on`` samples (the heater's duty): hours of heater running;
- a relay's lit hours are rebuilt from its switch samples (published on change): a state holds until
  the next sample; an hour with a switch counts half (the archive keeps hours, not instants); an hour
  that saw both states ends in the state it began in (switched there and back); a night is the
  evening's local day (noon to noon);
- degree-days come from the outdoor sensor's hourly minimum and maximum (:mod:`.degree_days`), with
  the station file's values where the sensor has none;
- **caching**: a day whose last hour is more than :data:`gateway.report.meters.SETTLED_S` old is
  settled; each series keeps one contiguous span of settled days in memory (a few floats a day: five
  years of a village is a few hundred kB) and only the days after it are read again. Safe across
  web threads (one lock); a read error propagates to the caller, which decides what to show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.report import degree_days as dd
from gateway.report.meters import SETTLED_S, configured_meters, meter_field
from gateway.report.reader import ArchiveReader
from gateway.schema.report import outdoor_sensor

NS = 1_000_000_000

Series = dict[date, float]
#: Every per-series cache keeps the span it read; above this many series the cache starts again.
MAX_SERIES = 256


class DailyFigures:
    """Per-day figures for reports, the Énergie page and the public page.

    Example::

        figures = DailyFigures(config=config, archive=archive, now=lambda: datetime.now(UTC))
        figures.energy("mairie", date(2026, 1, 1), date(2026, 1, 31))   # {date: kWh}
        figures.degree_days(date(2026, 1, 1), date(2026, 1, 31))        # {date: DegreeDay}
    """

    def __init__(
        self,
        *,
        config: Any,
        archive: ArchiveReader,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        station: Mapping[date, float] | None = None,
    ) -> None:
        self.config = config
        self.archive = archive
        self.tz = ZoneInfo(config.site.timezone)
        self.station = dict(station or {})
        self.outdoor_sensor = outdoor_sensor(config)
        self._now = now
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[date, date, dict[date, Any]]] = {}

    # ---- what a building has -----------------------------------------------------------------------
    def meters_of(self, building: str, fld: str) -> list[str]:
        """The meters whose ``fld`` counts for ``building``: its general meters, else its zone meters."""
        mine = [d for d in configured_meters(self.config) if d.building == building and meter_field(d) == fld]
        general = [d.id for d in mine if not getattr(d, "zone", None)]
        return general or [d.id for d in mine]

    def heated_zones(self, building: str) -> list[str]:
        """``building/zone`` of each heated zone of ``building``."""
        zones = self.config.buildings[building].zones
        return [f"{building}/{zid}" for zid, zone in zones.items() if zone.heating is not None]

    # ---- per-day series ----------------------------------------------------------------------------
    def energy(self, building: str, first: date, last: date) -> Series:
        """Electricity (kWh) per local day of ``building``'s meters, days with archived hours only."""
        return self._sum_of(self.meters_of(building, "energy_import_kwh"), "energy_import_kwh", first, last)

    def water(self, building: str, first: date, last: date) -> Series:
        """Water (m³) per local day of ``building``'s water meters."""
        return self._sum_of(self.meters_of(building, "water_m3"), "water_m3", first, last)

    def heater_hours(self, building: str, first: date, last: date) -> Series:
        """Hours of heater running per local day, summed over the building's heated zones."""
        out: Series = {}
        for zone in self.heated_zones(building):
            for day, hours in self.zone_heater_hours(zone, first, last).items():
                out[day] = out.get(day, 0.0) + hours
        return out

    def zone_heater_hours(self, zone: str, first: date, last: date) -> Series:
        """Hours of heater running per local day of one zone (``building/zone``)."""
        return self._cached(("duty", zone), first, last, self._read_duty)

    def lit_hours(self, relay: str, first: date, last: date) -> Series:
        """Hours a relay was on per night (keyed by the evening's local day)."""
        return self._cached(("lit", relay), first, last, self._read_lit)

    def _sum_of(self, devices: list[str], fld: str, first: date, last: date) -> Series:
        out: Series = {}
        for device in devices:
            for day, value in self._cached(("meter", device, fld), first, last, self._read_counter).items():
                out[day] = out.get(day, 0.0) + value
        return out

    # ---- degree-days -------------------------------------------------------------------------------
    def degree_days(self, first: date, last: date) -> dict[date, dd.DegreeDay]:
        """Degree-days per day of ``[first, last]`` (``[report]`` method and base), settled days cached.

        A day's maximum window ends at 06:00 UTC the day after: its degree-days settle six hours later
        than its energy."""
        return self._cached(("dju",), first, last, self._read_dju, settled=self._settled_day(extra_hours=6))

    def _read_dju(self, key: tuple[str, ...], first: date, last: date) -> dict[date, dd.DegreeDay]:
        # a gap's interpolation needs the measured days around it: read a few more days each side
        lo, hi = first - timedelta(days=dd.FILL_DAYS + 1), last + timedelta(days=dd.FILL_DAYS + 1)
        rows: list[tuple[int, float, float, float]] = []
        if self.outdoor_sensor:
            start_ns, end_ns = dd.window(lo, hi)
            rows = self.archive.series("climate", {"device": self.outdoor_sensor}, "temperature_c", start_ns, end_ns)
        report = self.config.report
        values = dd.degree_days(dd.daily_extremes(rows, lo, hi), method=report.method, base=report.base_c,
                                station=self.station)
        return {d: v for d, v in values.items() if first <= d <= last}

    # ---- reading and caching -----------------------------------------------------------------------
    def _settled_day(self, *, extra_hours: float = 0.0) -> date:
        """The last local day whose hours (plus ``extra_hours``) are settled."""
        moment = self._now().astimezone(self.tz) - timedelta(seconds=SETTLED_S) - timedelta(hours=extra_hours)
        return moment.date() - timedelta(days=1)

    def _cached(self, key: tuple[str, ...], first: date, last: date,
                read: Callable[[tuple[str, ...], date, date], dict[date, Any]],
                *, settled: date | None = None) -> dict[date, Any]:
        """``read(key, first, last)``, with the settled days kept as one contiguous span per key: a request
        before the span or after it reads only the missing days and extends it (never thrashes between
        this year and the reference year)."""
        settled_day = self._settled_day() if settled is None else settled
        with self._lock:
            span = self._cache.get(key)
        if span is None:
            hi = min(last, settled_day)
            values = read(key, first, hi) if hi >= first else {}
            span = (first, hi, values) if hi >= first else None
        else:
            lo, hi, values = span
            if first < lo:  # earlier days: read up to the span, keep it contiguous
                values = {**read(key, first, lo - timedelta(days=1)), **values}
                lo = first
            want = min(max(last, hi), settled_day)
            if want > hi:  # days settled since, or asked for beyond the span
                values = {**values, **read(key, hi + timedelta(days=1), want)}
                hi = want
            span = (lo, hi, values)
        if span is not None:
            with self._lock:
                if key not in self._cache and len(self._cache) >= MAX_SERIES:
                    self._cache.clear()
                self._cache[key] = span
        covered_to = span[1] if span is not None else first - timedelta(days=1)
        out = {d: v for d, v in (span[2] if span is not None else {}).items() if first <= d <= last}
        if covered_to < last:
            out.update(read(key, max(first, covered_to + timedelta(days=1)), last))
        return dict(sorted(out.items()))

    def _local_ns(self, day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()) * NS

    def _read_counter(self, key: tuple[str, ...], first: date, last: date) -> Series:
        _, device, fld = key
        rows = self.archive.counter_sum("meter", {"device": device}, fld, self._local_ns(first),
                                        self._local_ns(last + timedelta(days=1)), period="day",
                                        timezone=self.tz.key)
        return {datetime.fromtimestamp(start_ns / NS, self.tz).date(): total for start_ns, total in rows}

    def _read_duty(self, key: tuple[str, ...], first: date, last: date) -> Series:
        zone = key[1]
        rows = self.archive.series("climate", {"device": zone}, "heater_on", self._local_ns(first),
                                   self._local_ns(last + timedelta(days=1)))
        out: Series = {}
        for hour_ns, mean, _low, _high in rows:
            day = datetime.fromtimestamp(hour_ns / NS, self.tz).date()
            out[day] = out.get(day, 0.0) + mean
        return out

    def _read_lit(self, key: tuple[str, ...], first: date, last: date) -> Series:
        relay = key[1]
        noon = 12 * 3600 * NS
        start_ns = self._local_ns(first) + noon
        end_ns = self._local_ns(last + timedelta(days=1)) + noon
        # two days before: the state the relay was in when the first night began
        rows = self.archive.series("relay", {"device": relay}, "on", start_ns - 2 * 86400 * NS, end_ns)
        by_hour = {hour_ns: (low, high, 1.0 if mean >= 0.5 else 0.0) for hour_ns, mean, low, high in rows}
        state: float | None = None
        out: Series = {}
        hour_ns = (start_ns - 2 * 86400 * NS) // (3600 * NS) * 3600 * NS
        while hour_ns < end_ns:
            sample = by_hour.get(hour_ns)
            if sample is None:  # no switch: the state holds
                lit = state
            elif sample[0] == sample[1]:  # one value in the hour: a repeat, or a switch (relays publish changes)
                lit = sample[0] if state == sample[0] else 0.5
                state = sample[0]
            else:  # switched both ways within the hour: on and back off (or off and back on)
                lit, state = 0.5, (state if state is not None else sample[2])
            if hour_ns >= start_ns and lit is not None:
                day = datetime.fromtimestamp((hour_ns - noon) / NS, self.tz).date()
                out[day] = out.get(day, 0.0) + lit
            hour_ns += 3600 * NS
        return out
