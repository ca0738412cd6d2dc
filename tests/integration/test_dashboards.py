"""The intercommunality's Grafana dashboards (``dashboards/*.json``, InfluxDB 1.x, InfluxQL) answer with
data: every panel's query and every variable's query returns rows from a real ``influxd`` that received,
through each gateway's own journal and influx-v1 sink, the uploads of a simulated fleet of six villages
(a year of daily summaries computed from a seeded archive, two hours of health points each, one village
silent for three hours, a leak alarm and a heating fault)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.model import Event, Reading
from gateway.report.daily import DailyFigures
from gateway.report.reader import ReadOnlyArchive
from gateway.report.summary import daily_readings, health_reading
from tests.support.fleet import upload_fleet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
SITES = [f"village-{i:02d}" for i in range(6)]
SILENT = "village-03"
SCALED = ("energy_kwh", "normalised_kwh", "expected_kwh", "heater_h", "water_m3", "kwh_per_dju")


def fleet_readings(daily: list[Reading], end: datetime) -> dict[str, list[Reading]]:
    """Each village: the daily summaries at its own size, and a health point a minute for two hours."""
    out: dict[str, list[Reading]] = {}
    for i, site in enumerate(SITES):
        size = 0.6 + 0.2 * i
        readings = [
            Reading.make(r.measurement, {**dict(r.tags), "site": site},
                         {k: round(v * size, 3) if k in SCALED and isinstance(v, float) else v
                          for k, v in r.fields},
                         time_ns=r.time_ns)
            for r in daily
        ]
        stop = end - timedelta(hours=3) if site == SILENT else end
        for minute in range(120):
            t = stop - timedelta(minutes=120 - minute)
            readings.append(health_reading(
                site=site, time_ns=int(t.timestamp()) * 10**9, version="0.1.0", uptime_s=3600.0 + 60 * minute,
                sink_backlog=(minute * 7) % 50, alarms=1 if site == "village-01" else 0, devices_unavailable=0,
                newest_reading_age_s=12.0, clock_trusted=True))
        out[site] = readings
    return out


def fleet_events(end: datetime) -> dict[str, list[Event]]:
    ns = int((end - timedelta(hours=5)).timestamp()) * 10**9
    return {
        "village-01": [Event("leak", "ecole-eau", "Fuite d'eau probable : débit de nuit", ns, "alarm",
                             (("code", "leak_night_flow"),))],
        "village-04": [Event("heater_max_on", "salle/grande_salle", "Chauffage en marche depuis plus de 8 h", ns,
                             "warning", (("code", "heater_max_on"),))],
    }


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(where, InfluxQL, panel time shift) of every panel target and every variable."""
    found = []
    for variable in dashboard["templating"]["list"]:
        found.append((f"variable {variable['name']}", variable["query"], None))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            found.append((f"panel {panel['title']!r}", target["query"], panel.get("timeShift")))
    return found


def as_grafana_would(query: str, first: datetime, last: datetime, shift: str | None) -> str:
    """The query as Grafana's InfluxDB data source sends it: the time range, interval and "All" filled in."""
    if shift == "1y":
        first, last = first - timedelta(days=365), last - timedelta(days=365)
    elif shift is not None:
        raise AssertionError(f"unexpected timeShift {shift}")
    time_filter = f"time >= {int(first.timestamp() * 1000)}ms and time <= {int(last.timestamp() * 1000)}ms"
    text = query.replace("$timeFilter", time_filter).replace("$__interval", "1h")
    text = re.sub(r"\$(site|building)\b", ".*", text)
    assert not re.search(r"\$(?!/)", text), text  # every variable filled in (a regex may end with $/)
    return text


@pytest.fixture(scope="module")
def fleet_db(village_year, influxd_module, tmp_path_factory) -> Any:
    import asyncio

    config, path, end = village_year
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: end)
    last_day = (end - timedelta(days=1)).date()
    daily = daily_readings(figures, last_day - timedelta(days=399), last_day)
    assert len(daily) > 4 * 350
    root = tmp_path_factory.mktemp("fleet")
    sent = asyncio.run(upload_fleet(root, influxd_module.url, fleet_readings(daily, end), events=fleet_events(end)))
    assert set(sent) == set(SITES)
    return influxd_module, end


@pytest.fixture(scope="module")
def influxd_module(tmp_path_factory):
    from tests.support.influx_servers import start_influxd

    with start_influxd(tmp_path_factory.mktemp("influxd")) as server:  # database "village" created
        yield server


def test_there_are_three_dashboards_for_influxdb_1():
    names = {p.stem for p in DASHBOARDS}
    assert names == {"fleet-health", "energy", "alarms"}
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        assert board["__inputs"][0]["pluginId"] == "influxdb"
        assert all(t["rawQuery"] for p in board["panels"] for t in p["targets"])
        assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_every_query_returns_rows_from_the_fleet(fleet_db, path):
    server, end = fleet_db
    board = json.loads(path.read_text(encoding="utf-8"))
    first, last = end - timedelta(days=420), end + timedelta(minutes=5)
    empty = []
    for where, query, shift in queries(board):
        answer = server.query(as_grafana_would(query, first, last, shift), db="village")
        series = [s for r in answer["results"] for s in r.get("series", [])]
        values = [v for s in series for row in s.get("values", []) for v in row[1:] if v is not None]
        if not values:
            empty.append(f"{where}: {query}")
    assert not empty, "\n".join(empty)


def test_the_silent_village_comes_first(fleet_db):
    server, end = fleet_db
    board = json.loads((ROOT / "dashboards" / "fleet-health.json").read_text(encoding="utf-8"))
    panel = board["panels"][0]
    query = as_grafana_would(panel["targets"][0]["query"], end - timedelta(days=1), end, None)
    answer = server.query(query, db="village")
    last_seen = {s["tags"]["site"]: s["values"][0][0] for s in answer["results"][0]["series"]}
    assert set(last_seen) == set(SITES)
    assert min(last_seen, key=last_seen.get) == SILENT  # what the table's "sort by time, ascending" shows first
    assert any(t["id"] == "sortBy" and t["options"]["sort"][0] == {"field": "Time", "desc": False}
               for t in panel["transformations"])


def test_the_leak_and_the_heating_fault_are_listed(fleet_db):
    server, end = fleet_db
    board = json.loads((ROOT / "dashboards" / "alarms.json").read_text(encoding="utf-8"))
    query = as_grafana_would(board["panels"][0]["targets"][0]["query"], end - timedelta(days=1), end, None)
    series = server.query(query, db="village")["results"][0]["series"]
    assert {(s["tags"]["site"], s["tags"]["kind"]) for s in series} == {("village-01", "leak"),
                                                                        ("village-04", "heater_max_on")}
