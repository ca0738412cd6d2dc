"""Per-day figures over the archive: the settled-day cache answers what a fresh read answers, whatever
the order of the requests; a relay's lit hours rebuilt from its switches."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.model import Reading
from gateway.report.daily import DailyFigures
from gateway.report.reader import ReadOnlyArchive

PARIS = ZoneInfo("Europe/Paris")


class Counting:
    """A reader that counts the archive queries it answers."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def series(self, *args, **kwargs):
        self.calls += 1
        return self.inner.series(*args, **kwargs)

    def counter_sum(self, *args, **kwargs):
        self.calls += 1
        return self.inner.counter_sum(*args, **kwargs)


def test_the_cache_answers_like_a_fresh_read_in_any_order(village_year):
    config, path, end = village_year
    cached = Counting(ReadOnlyArchive(path))
    figures = DailyFigures(config=config, archive=cached, now=lambda: end)
    rng = random.Random(3)
    ranges = []
    for _ in range(30):
        first = date(2025, 10, 20) + timedelta(days=rng.randrange(0, 390))
        ranges.append((first, min(date(2026, 11, 27), first + timedelta(days=rng.randrange(0, 120)))))
    for first, last in ranges:
        fresh = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: end)
        assert figures.energy("salle", first, last) == fresh.energy("salle", first, last)
        assert figures.heater_hours("eglise", first, last) == fresh.heater_hours("eglise", first, last)
        assert figures.degree_days(first, last) == fresh.degree_days(first, last)
    calls = cached.calls
    for first, last in ranges:  # everything settled is now in memory: only the unsettled tail is read again
        figures.energy("salle", first, last)
    assert cached.calls - calls <= sum(1 for _f, last in ranges if last >= date(2026, 11, 26))


def test_lit_hours_from_switch_samples(tmp_path: Path):
    from tests.support.history import village_config

    config = village_config(tmp_path)
    archive = Archive(tmp_path / "archive.sqlite", clock=ManualClock(datetime(2026, 1, 20, tzinfo=UTC)))

    def switch(day: int, hour: int, minute: int, on: bool) -> Reading:
        t = datetime(2026, 1, day, hour, minute, tzinfo=PARIS)
        return Reading.make("relay", {"site": "saint-martin", "device": "mairie-facade"}, {"on": on},
                            time_ns=int(t.timestamp()) * 10**9)

    archive.add([
        switch(10, 17, 20, True), switch(10, 23, 0, False),  # the night of the 10th: 17:20 to 23:00
        switch(11, 17, 22, True), switch(12, 8, 40, False),  # the 11th: lit all night (no night cut)
        switch(12, 17, 10, True), switch(12, 17, 50, False),  # the 12th: on and off within one hour
    ])
    archive.flush()
    figures = DailyFigures(config=config, archive=archive, now=lambda: datetime(2026, 1, 20, tzinfo=UTC))
    lit = figures.lit_hours("mairie-facade", date(2026, 1, 10), date(2026, 1, 13))
    assert lit[date(2026, 1, 10)] == pytest.approx(0.5 + 5 + 0.5)  # 17 h half, 18-22 h, 23 h half: 5 h 40 in fact
    assert lit[date(2026, 1, 11)] == pytest.approx(0.5 + 6 + 8 + 0.5)  # 17 h half ... 8 h half: 15 h 18 in fact
    assert lit[date(2026, 1, 12)] == pytest.approx(0.5)
    assert lit.get(date(2026, 1, 13), 0.0) == 0.0
    archive.close()
