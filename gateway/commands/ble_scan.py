"""``village-gateway ble-scan``: what BLE devices are around, decoded (for the installer).

- live: ``ble-scan [--seconds N] [--json] [--record FILE] [--adapter hciN]`` scans actively
  (to get names), then lists every device heard with its decoded readings and, given
  ``--config``, which configured sensor it is; ``--record`` appends every advertisement as a
  JSON line (:mod:`drivers.ble_record`);
- replay: ``ble-scan --replay FILE [--json]`` decodes a recording without a radio and prints
  one JSON object per decoded advertisement: ``{"address", "format", "readings"}``;
- bind keys: ``--bindkey ADDRESS=HEX`` (repeatable) or from ``--config``.

Exit codes: 0 done, 1 no adapter (clear message, no traceback), 2 bad arguments or input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from drivers.ble import RadioFactory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to scan (default 10)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--record", type=Path, metavar="FILE", help="append every advertisement to FILE (JSON lines)")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="decode a recording instead of scanning")
    parser.add_argument(
        "--bindkey",
        action="append",
        default=[],
        metavar="ADDRESS=HEX",
        help="bind key of an encrypted sensor (repeatable)",
    )
    parser.add_argument("--config", type=Path, help="take bind keys and sensor names from this configuration")
    parser.add_argument("--adapter", default=None, help="Bluetooth adapter (default: [ble].adapter or hci0)")


class UsageError(ValueError):
    """A bad argument, reported in one line."""


@dataclass
class Known:
    keys: dict[str, bytes] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # address -> configured sensor id
    adapter: str = "hci0"


def _known(args: argparse.Namespace) -> Known:
    from drivers.ble_decode import normalise_mac

    known = Known()
    if args.config:
        from gateway.config import load_config
        from gateway.errors import ConfigError
        from gateway.schema.ble import BindKeyError

        try:
            config = load_config(args.config)
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        known.adapter = config.ble.adapter
        for sensor in config.ble.sensors:
            known.names[sensor.address] = sensor.id
            try:
                key = sensor.key()
            except BindKeyError as exc:
                raise UsageError(str(exc)) from exc
            if key:
                known.keys[sensor.address] = key
    for item in args.bindkey:
        address, _, hexkey = item.partition("=")
        try:
            key = bytes.fromhex(hexkey)
            if len(key) != 16:
                raise ValueError
            known.keys[normalise_mac(address.strip())] = key
        except ValueError as exc:
            raise UsageError(f"--bindkey {item!r}: expected AA:BB:CC:DD:EE:FF=<32 hex digits>") from exc
    if args.adapter:
        known.adapter = args.adapter
    return known


def run(args: argparse.Namespace) -> int:
    try:
        known = _known(args)
    except UsageError as exc:
        print(f"ble-scan: {exc}", file=sys.stderr)
        return 2
    if args.replay:
        return replay(args.replay, known.keys, as_json=args.json, out=sys.stdout, err=sys.stderr)
    return asyncio.run(live_scan(args, known))


def replay(path: Path, keys: Mapping[str, bytes], *, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Decode a recording; one line per decoded advertisement; a summary on ``err``."""
    from drivers.ble_decode import AdvertDecoder, AdvertRejectedError
    from drivers.ble_record import RecordError, read_records

    decoder = AdvertDecoder(bindkeys=keys)
    counts = {"decoded": 0, "unknown": 0, "rejected": 0, "bad_lines": 0}
    try:
        stream = path.open(encoding="utf-8", errors="surrogateescape")  # a bad byte spoils its line only
    except OSError as exc:
        print(f"ble-scan: cannot read {path}: {exc.strerror or exc}", file=err)
        return 2
    with stream:
        for item in read_records(stream):
            if isinstance(item, RecordError):
                counts["bad_lines"] += 1
                print(f"ble-scan: {path}:{item.line}: {item.reason}", file=err)
                continue
            try:
                decoded = item.decode_with(decoder)
            except AdvertRejectedError as exc:
                counts["rejected"] += 1
                print(f"ble-scan: {item.address}: rejected ({exc.reason}): {exc}", file=err)
                continue
            if decoded is None:
                counts["unknown"] += 1
                continue
            counts["decoded"] += 1
            row = {"address": decoded.address, "format": decoded.format, "readings": decoded.readings()}
            print(json.dumps(row) if as_json else _line(row), file=out)
    print("ble-scan: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()), file=err)
    return 0


def _line(row: Mapping[str, Any]) -> str:
    readings = "  ".join(f"{k}={v}" for k, v in row["readings"].items())
    return f"{row['address']}  {row['format']:<9} {readings}"


async def live_scan(args: argparse.Namespace, known: Known, radio_factory: RadioFactory | None = None) -> int:
    """Scan for ``args.seconds`` (bleak, active, unless a radio factory is given: tests)."""
    from drivers.ble import bleak_radio_factory
    from drivers.ble_decode import AdvertDecoder, AdvertRejectedError
    from drivers.ble_record import from_bleak

    decoder = AdvertDecoder(bindkeys=known.keys)
    heard: dict[str, dict[str, Any]] = {}
    record = args.record.open("a", encoding="utf-8") if args.record else None

    def callback(device: Any, adv: Any) -> None:
        rec = from_bleak(device, adv)
        if record is not None:
            record.write(rec.to_json() + "\n")
        entry = heard.setdefault(rec.address, {"address": rec.address, "name": rec.name, "adverts": 0})
        entry["adverts"] += 1
        entry["rssi"] = rec.rssi
        entry["name"] = rec.name or entry["name"]
        try:
            decoded = rec.decode_with(decoder)
        except AdvertRejectedError as exc:
            entry["rejected"] = exc.reason
            return
        if decoded is not None:
            entry.update(format=decoded.format, readings=decoded.readings())

    factory = radio_factory or bleak_radio_factory(adapter=known.adapter, passive=False)
    radio = factory(callback)
    try:
        try:
            await radio.start()
        except Exception as exc:  # no D-Bus, no adapter, BlueZ refusing: say so plainly
            print(
                f"ble-scan: cannot scan on {known.adapter}: {type(exc).__name__}: {exc}\n"
                "ble-scan: is there a Bluetooth adapter, is bluetoothd running and is the D-Bus system "
                "bus reachable? (`--replay FILE` decodes a recording without a radio)",
                file=sys.stderr,
            )
            return 1
        try:
            await asyncio.sleep(args.seconds)
        finally:
            await radio.stop()
    finally:
        if record is not None:
            record.close()
    for entry in sorted(heard.values(), key=lambda e: -e.get("rssi", -200)):
        entry["sensor"] = known.names.get(entry["address"])
        if args.json:
            print(json.dumps(entry))
        else:
            what = _line(entry) if "readings" in entry else f"{entry['address']}  {'-':<9}"
            label = f"  [{entry['sensor']}]" if entry["sensor"] else ""
            print(f"{what}  rssi={entry.get('rssi')}  name={entry.get('name')}{label}")
    print(f"ble-scan: {len(heard)} devices heard in {args.seconds:g} s", file=sys.stderr)
    return 0
