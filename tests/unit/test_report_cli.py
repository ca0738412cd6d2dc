"""``village-gateway report`` on 400 days of the example village: every building gets its kWh, DJU,
kWh/DJU and normalised saving (JSON), a yearly CSV for the décret tertiaire, a French HTML report."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.commands.report import build

CONFIG = "examples/village.toml"


def args(path: Path, fmt: str = "json", **extra: str) -> argparse.Namespace:
    values = {"config": CONFIG, "state_dir": path.parent, "first": "2026-10-25", "last": "2026-11-26",
              "reference_from": None, "reference_to": None, "format": fmt, "dju_csv": None, "output": None}
    return argparse.Namespace(**(values | extra))


def test_json_gives_every_building_its_figures_and_normalised_saving(village_year):
    config, path, end = village_year
    data = json.loads(build(args(path), config, end))
    assert (data["from"], data["to"], data["reference_from"], data["reference_to"]) == (
        "2026-10-25", "2026-11-26", "2025-10-25", "2025-11-26")  # the archive begins on 23 October 2025
    assert data["method"] == "costic"
    assert data["base_c"] == 18.0
    assert data["dju_days"] == 33
    assert 150 < data["dju"] < 500
    assert set(data["buildings"]) == {"mairie", "ecole", "salle", "eglise"}
    for building in data["buildings"].values():
        assert building["energy_kwh"] > 0
        assert building["dju"] == data["dju"]
        assert building["kwh_per_dju"] > 0
        assert building["reference"]["energy_kwh"] > 0
        assert building["reference"]["dju"] > 0
        assert building["signature"]["kwh_per_dju"] > 0
        # the gateway took over on 1 September 2026: it saves in every building at equal climate
        assert 0 < building["normalised_saving_pct"] < 80
        assert building["normalised_kwh"] > 0
    assert data["buildings"]["ecole"]["water_m3"] > 0
    assert data["buildings"]["mairie"]["water_m3"] is None
    assert data["buildings"]["mairie"]["kwh_per_m2"] == pytest.approx(
        data["buildings"]["mairie"]["energy_kwh"] / 120, abs=0.05)


def test_a_period_the_archive_does_not_cover_says_so_instead_of_a_saving(village_year):
    config, path, end = village_year
    data = json.loads(build(args(path, first="2026-01-01", last="2026-11-26"), config, end))
    mairie = data["buildings"]["mairie"]
    assert mairie["energy_kwh"] > 0
    assert mairie["reference"]["energy_days"] < 0.9 * mairie["reference"]["days"]  # the archive began in Oct 2025
    assert mairie["normalised_saving_pct"] is None


def test_csv_is_one_row_per_building_energy_and_year(village_year):
    config, path, end = village_year
    text = build(args(path, "csv", first="2025-11-01", last="2026-11-26",
                      reference_from="2025-11-01", reference_to="2025-11-30"), config, end)
    assert text.startswith("\ufeffannee;batiment;nom;surface_m2;energie;unite;")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    years = {(r["annee"], r["batiment"], r["energie"]) for r in rows}
    assert ("2025", "mairie", "electricite") in years
    assert ("2026", "ecole", "eau") in years
    assert len(rows) == 2 * 5  # two years x (four buildings + the school's water)
    mairie = next(r for r in rows if r["annee"] == "2026" and r["batiment"] == "mairie")
    assert mairie["debut"] == "2026-01-01"
    assert mairie["fin"] == "2026-11-26"
    assert mairie["surface_m2"] == "120"
    assert mairie["reference_debut"] == "2025-11-01"
    assert "," in mairie["kwh_par_m2"] or mairie["kwh_par_m2"].isdigit()  # decimal comma
    assert int(mairie["dju"]) > int(mairie["dju_reference"])


def test_html_is_a_printable_french_report_with_inline_charts(village_year):
    config, path, end = village_year
    html = build(args(path, "html"), config, end)
    assert html.startswith("<!doctype html>")
    assert 'lang="fr"' in html
    assert "Bilan énergétique du 25 octobre 2026 au 26 novembre 2026" in html
    assert "Économie à climat égal" in html
    assert "Signature énergétique : Mairie" in html
    assert html.count("<svg") >= 8  # a signature and a month-by-month chart per building
    assert "<script" not in html
    assert "@media print" in html


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-11-01"], 2, "--from: '2026-13-01' is not a date"),
        (["--from", "2026-11-10", "--to", "2026-11-01"], 2, "--to must not be before --from"),
        (["--from", "2026-11-01", "--to", "2026-11-10", "--reference-from", "2025-11-01"], 2,
         "give both --reference-from and --reference-to"),
    ],
)
def test_bad_arguments_are_refused_clearly(village_year, capsys, extra, code, message):
    _config, path, _end = village_year
    assert main(["report", "--config", CONFIG, "--state-dir", str(path.parent), *extra]) == code
    assert message in capsys.readouterr().err


def test_no_archive_and_a_bad_station_file(village_year, tmp_path, capsys):
    _config, path, _end = village_year
    assert main(["report", "--config", CONFIG, "--state-dir", str(tmp_path), "--from", "2026-11-01",
                 "--to", "2026-11-02"]) == 1
    assert "does not exist" in capsys.readouterr().err
    station = tmp_path / "dju.csv"
    station.write_text("date;dju\n2026-11-01;9,5\n2026-11-02;beaucoup\n", encoding="utf-8")
    assert main(["report", "--config", CONFIG, "--state-dir", str(path.parent), "--from", "2026-11-01",
                 "--to", "2026-11-02", "--dju-csv", str(station)]) == 2
    assert f"{station}:3: 'beaucoup' is not a number" in capsys.readouterr().err


def test_a_period_running_into_today_stops_at_yesterday_and_says_so(village_year, capsys):
    config, path, end = village_year
    data = json.loads(build(args(path, first="2026-11-20", last="2026-12-31"), config, end))
    assert data["to"] == "2026-11-26"
    assert "the period ends on 2026-11-26" in capsys.readouterr().err


def test_the_output_file_and_a_station_file_for_days_without_a_reading(village_year, tmp_path):
    _config, path, _end = village_year
    station = tmp_path / "dju.csv"
    station.write_text("2024-01-15;12,5\n", encoding="utf-8")
    out = tmp_path / "report.json"
    assert main(["report", "--config", CONFIG, "--state-dir", str(path.parent), "--from", "2026-11-01",
                 "--to", "2026-11-07", "--dju-csv", str(station), "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["dju_days"] == 7
