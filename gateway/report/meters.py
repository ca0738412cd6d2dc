"""Per-meter consumption for the Énergie page: kWh (or m³) per local day and month, and a year before.

Rules of this module:
- totals are sums of the archive's hourly counter deltas (:meth:`gateway.archive.Archive.counter_sum`),
  bucketed into local days or months (DST-safe);
- hours more than :data:`SETTLED_S` old are settled (the archive has flushed them and a counter's
  past does not change): the part of a range before the last settled local midnight (or 1st of
  the month) is read once and cached, only the rest is read again; with five years of archive this
  keeps the page fast on a Pi;
- safe to call from several web threads (the cache has its own lock); a failing read gives empty
  figures for that meter and one log line, never an exception to the page.

Example::

    totals = MeterTotals(config=config, archive=archive, now=lambda: datetime.now(tz))
    totals.rows(brief=True)      # today, yesterday, this week per meter (the overview)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("gateway.report.meters")

_NS = 1_000_000_000

#: Archived counter hours older than this are settled: flushed and never changed again (cacheable).
SETTLED_S = 2 * 3600.0
SETTLED_CACHE_SIZE = 512


@dataclass(frozen=True, slots=True)
class EnergyRow:
    """One meter on the Énergie page: kWh (or m³) per period, and the same period a year before."""

    device: str
    building: str | None
    quantity: str  # "kwh" or "m3"
    today: float | None
    yesterday: float | None
    week: float | None
    month: float | None
    month_last_year: float | None
    days: tuple[tuple[date, float | None, float | None], ...] = ()  # (day, this year, last year)
    months: tuple[tuple[date, float | None, float | None], ...] = ()


def counter_deltas(
    archive: Any, device: str, field: str, start: datetime, end: datetime, *, period: str, tz: ZoneInfo
) -> dict[date, float]:
    """Counter increase of one device per local day or month (keyed by the period's first day)."""
    totals = archive.counter_sum(
        "meter", {"device": device}, field, int(start.timestamp()) * _NS, int(end.timestamp()) * _NS,
        period=period, timezone=tz.key,
    )
    return {datetime.fromtimestamp(start_ns / _NS, tz).date(): float(total) for start_ns, total in totals}


def meter_field(device: Any) -> str:
    """The counter a configured meter is read for: ``water_m3`` for water meters, else ``energy_import_kwh``."""
    quantity = getattr(device, "quantity", None) or "energy_import_kwh"
    return "water_m3" if quantity == "water_m3" else "energy_import_kwh"


def configured_meters(config: Any) -> Iterable[Any]:
    """Every Modbus meter of the configuration, bus by bus."""
    for bus in config.buses.values():
        yield from getattr(bus, "devices", ())


class MeterTotals:
    """Counter totals per meter over the archive, with the settled past cached."""

    def __init__(self, *, config: Any, archive: Any, now: Callable[[], datetime]) -> None:
        self.config = config
        self.archive = archive
        self.tz = ZoneInfo(config.site.timezone)
        self._now = now
        self._lock = threading.Lock()
        self._settled: dict[tuple[str, str, str, str, str], dict[date, float]] = {}

    def deltas(self, device: str, fld: str, start: datetime, end: datetime, period: str) -> dict[date, float]:
        """Counter deltas per local day/month in ``[start, end)``, the settled part from the cache."""
        settled = self._now() - timedelta(seconds=SETTLED_S)
        cut = settled.replace(hour=0, minute=0, second=0, microsecond=0)
        if period == "month":
            cut = cut.replace(day=1)
        cut = min(max(cut, start), end)
        out: dict[date, float] = {}
        if cut > start:
            key = (device, fld, period, start.isoformat(), cut.isoformat())
            with self._lock:
                cached = self._settled.get(key)
            if cached is None:
                cached = counter_deltas(self.archive, device, fld, start, cut, period=period, tz=self.tz)
                with self._lock:
                    if len(self._settled) > SETTLED_CACHE_SIZE:
                        self._settled.clear()
                    self._settled[key] = cached
            out.update(cached)
        if end > cut:
            live = counter_deltas(self.archive, device, fld, cut, end, period=period, tz=self.tz)
            for key_date, value in live.items():
                out[key_date] = out.get(key_date, 0.0) + value
        return out

    def rows(self, *, brief: bool = False) -> list[EnergyRow]:
        """Per meter: today, yesterday, this week, this month and the same month last year.

        ``brief``: only today, yesterday and this week (one archive query per meter; the overview).
        """
        now = self._now()
        day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)  # local midnight (aware, DST-safe)
        month0 = day0.replace(day=1)
        rows: list[EnergyRow] = []
        for device in configured_meters(self.config):
            fld = meter_field(device)
            daily: dict[date, float] = {}
            daily_ly: dict[date, float] = {}
            monthly: dict[date, float] = {}
            monthly_ly: dict[date, float] = {}
            if self.archive is not None:
                try:
                    daily = self.deltas(device.id, fld, day0 - timedelta(days=7 if brief else 30), now, "day")
                    if not brief:
                        daily_ly = self.deltas(
                            device.id, fld, year_ago(day0 - timedelta(days=30)), year_ago(day0 + timedelta(days=1)),
                            "day",
                        )
                        monthly = self.deltas(device.id, fld, months_ago(month0, 11), now, "month")
                        monthly_ly = self.deltas(
                            device.id, fld, months_ago(month0, 23), months_ago(month0, 11), "month"
                        )
                except Exception as exc:
                    log.warning("archive read failed for %s: %s", device.id, exc)
            today = now.date()
            week_start = today - timedelta(days=today.weekday())
            month_start = today.replace(day=1)
            rows.append(
                EnergyRow(
                    device=device.id,
                    building=getattr(device, "building", None),
                    quantity="m3" if fld == "water_m3" else "kwh",
                    today=daily.get(today),
                    yesterday=daily.get(today - timedelta(days=1)),
                    week=_sum(v for d, v in daily.items() if d >= week_start),
                    month=monthly.get(month_start),
                    month_last_year=monthly_ly.get(year_ago_date(month_start)),
                    days=tuple(
                        (d, daily.get(d), daily_ly.get(year_ago_date(d)))
                        for d in (today - timedelta(days=i) for i in range(13, -1, -1))
                    ),
                    months=tuple(
                        (m, monthly.get(m), monthly_ly.get(year_ago_date(m))) for m in month_starts(today, 12)
                    ),
                )
            )
        return rows


# ---- calendar helpers -------------------------------------------------------------------------------
def _sum(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) if items else None


def year_ago_date(d: date) -> date:
    """The same date a year earlier (28 February for a 29th)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def year_ago(moment: datetime) -> datetime:
    """The same local time a year earlier (28 February for a 29th)."""
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


def months_ago(moment: datetime, months: int) -> datetime:
    """Local midnight of the 1st of the month ``months`` before ``moment``'s."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    return moment.replace(year=year, month=month + 1, day=1, hour=0, minute=0, second=0, microsecond=0)


def month_starts(today: date, count: int) -> list[date]:
    """The first days of the last ``count`` months, oldest first, ending with ``today``'s."""
    out = []
    for back in range(count - 1, -1, -1):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        out.append(date(year, month + 1, 1))
    return out
