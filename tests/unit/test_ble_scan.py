"""``village-gateway ble-scan``: replay of recorded (published) adverts, bind keys, bad input, no radio."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drivers.ble_record import from_bleak, parse_line
from gateway.cli import main
from tests.support.village import building, site
from tests.unit.test_ble_decode import VECTORS, bleak_objects

DATA = Path(__file__).parent.parent / "data" / "ble"
KEYS = [
    "--bindkey",
    "54:48:E6:8F:80:A5=231d39c1d7cc1ab1aee224cd096db932",
    "--bindkey",
    "a4:c1:38:02:83:f4=E9EA895FAC7CCA6D30532432A516F3A8",
]


def run_cli(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["ble-scan", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def test_replay_decodes_every_supported_format(capsys) -> None:
    code, rows, err = run_cli(capsys, "--replay", str(DATA / "published_vectors.jsonl"), "--json", *KEYS)
    assert code == 0
    assert {r["format"] for r in rows} == {"bthome", "atc1441", "pvvx", "mibeacon", "ruuvi"}
    by = {(r["address"], r["format"], tuple(sorted(r["readings"]))): r["readings"] for r in rows}
    atc = by[
        (
            "A4:C1:38:02:83:F4",
            "atc1441",
            ("battery_pct", "battery_v", "humidity_pct", "rssi_dbm", "temperature_c"),
        )
    ]
    assert atc == {
        "temperature_c": 16.2,
        "humidity_pct": 47.0,
        "battery_v": 3.064,
        "battery_pct": 95.0,
        "rssi_dbm": -33,
    }
    encrypted = [r for r in rows if r["address"] == "A4:C1:38:02:83:F4" and r["format"] == "mibeacon"]
    assert encrypted == [
        {
            "address": "A4:C1:38:02:83:F4",
            "format": "mibeacon",
            "readings": {"humidity_pct": 46.7, "rssi_dbm": -30},
        }
    ]
    assert sum(r["readings"].get("temperature_c") == 25.06 for r in rows) == 2  # clear and encrypted BTHome
    assert any(r["readings"].get("window_open") is True for r in rows)
    assert "11 decoded, 1 unknown, 0 rejected" in err


def test_replay_without_keys_counts_the_encrypted_ones(capsys) -> None:
    code, rows, err = run_cli(capsys, "--replay", str(DATA / "published_vectors.jsonl"), "--json")
    assert code == 0
    assert len(rows) == 9
    assert "rejected (no_bindkey)" in err
    assert "9 decoded, 1 unknown, 2 rejected" in err


def test_replay_takes_bind_keys_from_the_configuration(capsys, tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("231d39c1d7cc1ab1aee224cd096db932")
    os.chmod(key, 0o600)
    config = tmp_path / "village.toml"
    config.write_text("\n" + site("v", "V", latitude=47.0, longitude=1.0) + building("mairie", "Mairie") + f"""[[ble.sensors]]
id = "mairie-t1"
address = "54:48:E6:8F:80:A5"
bindkey_file = "{key}"
building = "mairie"
""")
    code, _rows, err = run_cli(
        capsys, "--replay", str(DATA / "published_vectors.jsonl"), "--json", "--config", str(config)
    )
    assert code == 0
    assert "10 decoded" in err  # BTHome decrypted; the MiBeacon one still has no key


def test_replay_of_bad_input_counts_and_never_crashes(capsys) -> None:
    code, rows, err = run_cli(
        capsys,
        "--replay",
        str(DATA / "bad_adverts.jsonl"),
        "--json",
        "--bindkey",
        "54:48:E6:8F:80:A5=" + "00" * 16,
    )
    assert code == 0
    assert rows == []
    for reason in ("truncated", "undecryptable"):
        assert f"rejected ({reason})" in err
    assert "bad_adverts.jsonl:6: not a MAC address" in err
    assert "bad_adverts.jsonl:7: not JSON" in err
    assert "0 decoded, 0 unknown, 5 rejected, 2 bad lines" in err


def test_human_output(capsys) -> None:
    code = main(["ble-scan", "--replay", str(DATA / "published_vectors.jsonl")])
    out = capsys.readouterr().out
    assert code == 0
    assert "A4:C1:38:02:83:F4  atc1441   temperature_c=16.2" in out


@pytest.mark.parametrize("bad", ["nonsense", "54:48:E6:8F:80:A5=abcd", "54:48:E6:8F:80=" + "00" * 16])
def test_bad_bindkey_argument(capsys, bad: str) -> None:
    code, _rows, err = run_cli(capsys, "--replay", str(DATA / "published_vectors.jsonl"), "--bindkey", bad)
    assert code == 2
    assert "expected AA:BB:CC:DD:EE:FF=<32 hex digits>" in err


def test_missing_recording(capsys, tmp_path: Path) -> None:
    code, _rows, err = run_cli(capsys, "--replay", str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert "cannot read" in err


def test_live_scan_without_a_radio_fails_with_a_clear_message(capsys) -> None:
    # This machine has neither D-Bus nor Bluetooth (and hci99 exists nowhere): a message, not a traceback.
    code, _rows, err = run_cli(capsys, "--seconds", "0.1", "--adapter", "hci99")
    assert code == 1
    assert "cannot scan on hci99" in err
    assert "Traceback" not in err


def test_record_lines_have_the_documented_shape_and_replay_identically() -> None:
    device, adv = bleak_objects(VECTORS[9][1])  # Ruuvi: manufacturer data
    line = from_bleak(device, adv).to_json()
    raw = json.loads(line)
    assert set(raw) == {"time", "address", "name", "rssi", "service_data", "manufacturer_data"}
    assert raw["manufacturer_data"] == {"1177": adv.manufacturer_data[0x0499].hex()}
    assert raw["address"] == "CD:D4:FA:52:7A:F2"
    assert raw["rssi"] == -68
    again = parse_line(line)
    assert again.manufacturer_data == adv.manufacturer_data
    assert again.service_data == adv.service_data
    device, adv = bleak_objects(VECTORS[0][1])
    raw = json.loads(from_bleak(device, adv).to_json())
    assert raw["service_data"] == {"0000fcd2-0000-1000-8000-00805f9b34fb": "4002ca0903bf13"}


class PlaybackRadio:
    """A radio that hears the published vectors once when started (the radio is what we may fake)."""

    def __init__(self, callback) -> None:
        self.callback = callback

    async def start(self) -> None:
        for _name, report, *_ in VECTORS:
            self.callback(*bleak_objects(report))
        device, adv = bleak_objects(VECTORS[5][1])
        self.callback(device, adv)  # a repeat

    async def stop(self) -> None:
        return None


async def test_live_scan_lists_devices_and_records_what_it_hears(tmp_path: Path, capsys) -> None:
    import argparse

    from gateway.commands.ble_scan import Known, live_scan, replay

    record = tmp_path / "walk.jsonl"
    args = argparse.Namespace(seconds=0.01, json=True, record=record)
    known = Known(
        keys={"54:48:E6:8F:80:A5": bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")},
        names={"A4:C1:38:02:83:F4": "salle-t1"},
    )
    assert await live_scan(args, known, radio_factory=PlaybackRadio) == 0
    out, err = capsys.readouterr()
    devices = {d["address"]: d for d in map(json.loads, out.splitlines())}
    assert devices["A4:C1:38:02:83:F4"]["sensor"] == "salle-t1"
    assert devices["A4:C1:38:02:83:F4"]["adverts"] == 4  # atc1441, pvvx twice, encrypted MiBeacon
    assert devices["54:48:E6:8F:80:A5"]["format"] == "bthome"
    assert devices["CD:D4:FA:52:7A:F2"]["readings"]["temperature_c"] == 25.01
    assert "devices heard" in err
    lines = record.read_text().splitlines()
    assert len(lines) == len(VECTORS) + 1
    # the recording replays to the same decoded adverts
    import io

    buffer = io.StringIO()
    assert replay(record, known.keys, as_json=True, out=buffer, err=io.StringIO()) == 0
    assert len(buffer.getvalue().splitlines()) == len(VECTORS)  # all but the keyless MiBeacon, plus the repeat


def test_replay_refuses_deep_nesting_and_bad_bytes_line_by_line(capsys, tmp_path: Path) -> None:
    # a line of 100 000 nested arrays was a RecursionError out of json.loads, and one byte that is not
    # UTF-8 a UnicodeDecodeError out of the file iterator: each ended the command with a traceback
    good = (DATA / "published_vectors.jsonl").read_text(encoding="utf-8").splitlines()[0]
    recording = tmp_path / "odd.jsonl"
    recording.write_bytes(
        b"[" * 100_000 + b"\n"
        + b'{"time": ' + b"[" * 5000 + b"]" * 5000 + b', "address": "A4:C1:38:02:83:F4", "rssi": -60}\n'
        + b'{"time": "2026-11-27T12:00:00+00:00", "address": "A4:C1:38:02:83:F4", "name": "caf\xe9", "rssi": -60}\n'
        + b'{"time": "2026-11-27T12:00:00+00:00", "address": "A4:C1:38:02:83:F4", "rssi": -60, "manufacturer_data": {"'
        + b"9" * 5000 + b'": "00"}}\n'
        + good.encode() + b"\n"
    )
    code, rows, err = run_cli(capsys, "--replay", str(recording), "--json")
    assert code == 0
    assert len(rows) == 1  # the good line is still decoded
    assert f"{recording}:1: values nested more than 4 deep" in err
    assert f"{recording}:2: values nested more than 4 deep" in err
    assert f"{recording}:3: not UTF-8 text" in err
    assert f"{recording}:4: Exceeds the limit" in err
    assert "4 bad lines" in err
