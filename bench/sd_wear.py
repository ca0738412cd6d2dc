"""Benchmark: what the gateway writes to the SD card, per second, per day, per reading and per writer.

Two workloads, each the real command in its own process (measured from outside, ``/proc/PID``):

- **W1**: ``village-gateway run`` with 10 Eastron SDM630 meters (16 float32 values each: the shipped
  map's 14 plus average voltage and summed current, as a profile file beside the configuration:
  every canonical quantity the meter has) polled every second from a real pymodbus server (its own
  process), the journal, and one InfluxDB v1 sink draining to a real ``influxd`` 1.6 on loopback. In
  the same run, a minimal pymodbus loop polling the same meters (no journal, no sink) is measured for
  CPU and RSS.
- **demo**: ``village-gateway demo`` on the example village (its own simulated meters, thermometers
  and plant, journal, archive, settings, MQTT sink when mosquitto is installed).

Figures, over ``--measure`` seconds (default 90) after ``--warmup`` (default 20): ``write_bytes`` of
``/proc/PID/io`` (the bytes the process caused to be written to the block layer: what wears the card,
ext4's own journal excluded) as KB/s, MB/day and bytes per reading; RSS; CPU % of one core. Then, for
``--trace`` seconds (default 30, after the measurement: strace slows the process), ``strace -f`` of
``write``/``pwrite64``/``fsync`` with file names: the bytes handed to each file by writer (journal
database, its WAL, archive, settings, users, cursors, clock file, logs), and the fsyncs. Logical bytes
are not block bytes (a 100-byte append dirties a 4 KiB page), but they show who writes.

Card life: a 32 GB card at ``--tbw`` terabytes written (default 10 TB, about 300 full-card writes: a
conservative figure for a consumer TLC microSD card once its own write amplification on small writes is
counted; industrial pSLC cards are rated 10-30x more). Years = TBW / bytes per day.

Usage::

    .venv/bin/python bench/sd_wear.py                 # W1 and demo (about 5 minutes)
    .venv/bin/python bench/sd_wear.py --only w1 --measure 120
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEVICES = range(1, 11)
CLK = os.sysconf("SC_CLK_TCK")

#: the shipped SDM630 map (14 values) plus the two other canonical quantities an SDM630 gives (average
#: line-to-neutral voltage, sum of line currents): 16 float32 per meter, every canonical quantity it has
#: (profiles admit only canonical quantities, so the issue's "20 values" cannot be met with a real map;
#: figures per value are printed too)
PROFILE_EXTRA = (("voltage_v", 0x002A, "V"), ("current_a", 0x0030, "A"))


def w1_profile_text() -> str:
    shipped = (ROOT / "drivers" / "profiles" / "sdm630.toml").read_text(encoding="utf-8")
    shipped = shipped.replace('name = "sdm630"', 'name = "sdm630-w1"', 1)
    extra = "".join(f'\n[fields.{n}]\nregister = 0x{reg:04X}\nunit = "{unit}"\n' for n, reg, unit in PROFILE_EXTRA)
    return shipped + extra


def w1_profile():  # type: ignore[no-untyped-def]
    from drivers.modbus_profile import parse_profile

    return parse_profile(w1_profile_text(), where="sdm630-w1.toml")


# ---- the meters' server (its own process) ------------------------------------------------------------
async def serve(port: int) -> None:
    from drivers.sim.meters import SimMeter, SimulatedMeters

    profile = w1_profile()
    async with SimulatedMeters([SimMeter(unit, profile) for unit in DEVICES], port=port):
        await asyncio.Event().wait()


# ---- the minimal loop (its own process) --------------------------------------------------------------
async def minimal_loop(port: int, out: Path) -> None:
    """The reference: pymodbus reads, decode, one line-protocol line per meter appended to a file."""
    from pymodbus.client import AsyncModbusTcpClient

    profile = w1_profile()
    top = max(f.address for f in profile.fields) + 2  # one request per meter, like the gateway's block
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1.0)
    await client.connect()
    with out.open("a") as sink:
        while True:
            start = time.monotonic()
            for unit in DEVICES:
                rr = await client.read_input_registers(0, count=top, device_id=unit)
                values = client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32)
                by_reg = dict(zip(range(0, top, 2), values, strict=False))  # type: ignore[arg-type]
                fields = ",".join(f"{f.name}={by_reg.get(f.address, 0.0)}" for f in profile.fields)
                sink.write(f"meter,device=meter-{unit:02d} {fields} {time.time_ns()}\n")
            sink.flush()
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - start)))


# ---- measuring a process from outside ----------------------------------------------------------------
def proc_io(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Drain(threading.Thread):
    """Reads a child's output (what journald would store) and counts its bytes and lines."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.stream = stream
        self.bytes = 0
        self.lines: collections.deque[str] = collections.deque(maxlen=200)

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            self.bytes += len(raw)
            self.lines.append(raw.decode(errors="replace").rstrip())


def measure(pid: int, warmup: float, duration: float, logs: Drain, count=None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    time.sleep(warmup)
    w0, c0, l0, t0 = proc_io(pid), proc_cpu_s(pid), logs.bytes, time.monotonic()
    n0 = count() if count else 0
    peak = proc_rss_mb(pid)
    while time.monotonic() < t0 + duration:
        time.sleep(1.0)
        peak = max(peak, proc_rss_mb(pid))
    w1, c1, l1, t1 = proc_io(pid), proc_cpu_s(pid), logs.bytes, time.monotonic()
    n1 = count() if count else 0
    span = t1 - t0
    return {
        "seconds": span, "write_bytes": w1 - w0, "kb_s": (w1 - w0) / span / 1024,
        "mb_day": (w1 - w0) / span * 86400 / 1e6, "cpu_pct": 100 * (c1 - c0) / span,
        "rss_mb": proc_rss_mb(pid), "rss_peak_mb": peak, "log_bytes_s": (l1 - l0) / span,
        "readings_s": (n1 - n0) / span, "load": os.getloadavg()[0],
    }  # fmt: skip


_STRACE_LINE = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((\d+)<([^>]*)>.*\)\s+=\s+(-?\d+)")


def writer_of(path: str) -> str:
    name = Path(path).name
    if name.startswith("journal.sqlite-lost"):
        return "journal loss ledger"
    for prefix, label in (("journal.sqlite", "journal"), ("archive.sqlite", "archive"),
                          ("settings", "settings"), ("users", "users")):  # fmt: skip
        if name.startswith(prefix):
            return f"{label} {'WAL' if name.endswith('-wal') else 'WAL index' if name.endswith('-shm') else 'db'}"
    if "clock" in name:
        return "clock file"
    if path.startswith(("pipe:", "socket:")) or path in {"/dev/null", "/dev/pts"}:
        return "(pipes, sockets)"
    return name


def trace_writers(pid: int, seconds: float, out: Path) -> dict[str, list[int]]:
    """Logical bytes and fsyncs per file over ``seconds`` (strace -f attached to ``pid``)."""
    strace = shutil.which("strace")
    if strace is None or seconds <= 0:
        return {}
    argv = [strace, "-f", "-qq", "-y", "-e", "trace=write,pwrite64,pwritev,fsync,fdatasync", "-o", str(out),
            "-p", str(pid)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])  # bytes, writes, fsyncs
    for line in out.read_text(errors="replace").splitlines():
        match = _STRACE_LINE.match(line)
        if not match:
            continue
        call, _fd, path, result = match.groups()
        entry = per[writer_of(path)]
        if call in {"fsync", "fdatasync"}:
            entry[2] += 1
        elif int(result) > 0:
            entry[0] += int(result)
            entry[1] += 1
    return {k: [int(v[0] / seconds), int(v[1] / seconds * 60), int(v[2] / seconds * 60)] for k, v in per.items()}


def state_files(state: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(state.rglob("*")) if p.is_file()}


# ---- the two workloads (W1's configuration: tests/support/workloads.py) --------------------------------
def village_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("village-gateway")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gateway.cli"]


def run_w1(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    from gateway import child_process
    from tests.support.influx_servers import start_influxd
    from tests.support.procs import free_port, running, wait_for_port
    from tests.support.workloads import w1_config

    port = free_port()
    result: dict[str, object] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(running([sys.executable, __file__, "--serve", str(port)], port=port,
                                    log=tmp / "server.log"))  # fmt: skip
        influx = stack.enter_context(start_influxd(tmp / "influxd"))
        state = tmp / "w1-state"
        state.mkdir()
        conf = tmp / "w1.toml"
        (tmp / "sdm630-w1.toml").write_text(w1_profile_text(), encoding="utf-8")
        web_port = free_port()
        text = w1_config(influx_port=influx.port, web_port=web_port, state_dir=state, modbus_port=port,
                         profile="./sdm630-w1.toml", units=DEVICES)  # fmt: skip
        conf.write_text(text, encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        gw = subprocess.Popen([*village_cmd(), "run", "--config", str(conf)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip
        logs = Drain(gw.stdout)
        logs.start()
        try:
            wait_for_port(web_port, proc=gw, timeout=60)
            base = subprocess.Popen([sys.executable, __file__, "--minimal", str(port), str(tmp / "minimal.lp")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                # both measured over the same window: same machine load
                box: dict[str, dict[str, float]] = {}
                t = threading.Thread(target=lambda: box.setdefault("m", measure(base.pid, args.warmup, args.measure,
                                                                              Drain(subprocess.PIPE))))  # fmt: skip
                t.start()
                result["gateway"] = measure(gw.pid, args.warmup, args.measure, logs,
                                            count=lambda: _committed(web_port))  # fmt: skip
                result["influx_points"] = _influx_count(influx.port)
                t.join()
                result["minimal"] = box["m"]
            finally:
                base.terminate()
                base.wait(timeout=10)
            result["writers"] = trace_writers(gw.pid, args.trace, tmp / "w1.strace")
            result["files"] = state_files(state)
        finally:
            child_process.stop(gw, timeout_s=30)
        result["log_tail"] = list(logs.lines)[-5:]
    return result


def run_demo(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    from gateway import child_process
    from tests.support.procs import free_port, wait_for_port

    state = tmp / "demo-state"
    web_port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    extra = ["--config", str(args.demo_config)] if args.demo_config else []
    gw = subprocess.Popen([*village_cmd(), "demo", *extra, "--state-dir", str(state), "--http", f"127.0.0.1:{web_port}",
                           "--status-every", "3600"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          start_new_session=True)  # fmt: skip
    logs = Drain(gw.stdout)
    logs.start()
    result: dict[str, object] = {}
    try:
        wait_for_port(web_port, proc=gw, timeout=60)
        result["gateway"] = measure(gw.pid, args.warmup, args.measure, logs, count=lambda: _committed(web_port))
        result["writers"] = trace_writers(gw.pid, args.trace, tmp / "demo.strace")
        result["files"] = state_files(state)
    finally:
        child_process.stop(gw, timeout_s=30)
    result["log_tail"] = list(logs.lines)[-5:]
    return result


def _committed(web_port: int) -> float:
    """Readings the journal committed so far (``gateway_journal_committed_total`` on ``/metrics``)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    match = re.search(r"^gateway_journal_committed_total(?:\{[^}]*\})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def _influx_count(port: int) -> float:
    """Readings that reached InfluxDB (points of one field): the W1 rate, counted where it ends."""
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"db": "village", "q": 'SELECT count("voltage_l1_v") FROM "meter"'})
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/query?{query}", timeout=10) as resp:
            body = json.load(resp)
        series = body["results"][0].get("series")
        return float(series[0]["values"][0][1]) if series else 0.0
    except OSError:
        return 0.0


# ---- report ------------------------------------------------------------------------------------------
def life_years(bytes_per_day: float, tbw: float) -> float:
    return tbw * 1e12 / bytes_per_day / 365.25 if bytes_per_day > 0 else float("inf")


def report(name: str, result: dict[str, object], args: argparse.Namespace, readings_s: float | None) -> None:
    g = result["gateway"]
    assert isinstance(g, dict)
    rate = readings_s if readings_s is not None else g["readings_s"]
    per_reading = g["write_bytes"] / g["seconds"] / rate if rate else float("nan")
    print(f"{name}: {g['seconds']:.0f} s after {args.warmup:.0f} s warm-up, load avg {g['load']:.2f}")
    print(f"  written        {g['kb_s']:.2f} KB/s = {g['mb_day']:.1f} MB/day "
          f"({per_reading:.0f} bytes per reading at {rate:.2f} readings/s)")  # fmt: skip
    print(f"  logs (journald) {g['log_bytes_s']:.1f} bytes/s = {g['log_bytes_s'] * 86400 / 1e6:.2f} MB/day")
    print(f"  RSS            {g['rss_mb']:.1f} MB (peak {g['rss_peak_mb']:.1f} MB)")
    print(f"  CPU            {g['cpu_pct']:.2f} % of one core")
    if "minimal" in result:
        m = result["minimal"]
        assert isinstance(m, dict)
        print(f"  minimal loop   CPU {m['cpu_pct']:.2f} %, RSS {m['rss_mb']:.1f} MB "
              f"(gateway/minimal CPU = {g['cpu_pct'] / max(m['cpu_pct'], 1e-9):.2f}x)")  # fmt: skip
    bpd = g["write_bytes"] / g["seconds"] * 86400
    print(f"  32 GB card at {args.tbw:g} TB written: {life_years(bpd, args.tbw):.0f} years "
          f"(process writes only; ext4's journal and the card's own amplification on top)")  # fmt: skip
    writers = result.get("writers") or {}
    assert isinstance(writers, dict)
    if writers:
        print(f"  by writer (strace, {args.trace:.0f} s; logical bytes/s, writes/min, fsyncs/min):")
        for label, (bps, wpm, fpm) in sorted(writers.items(), key=lambda kv: -kv[1][0]):
            print(f"    {label:<22} {bps:>8} B/s {wpm:>6} w/min {fpm:>5} fsync/min")
    files = result.get("files") or {}
    assert isinstance(files, dict)
    print("  state files: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in files.items()))
    print("  " + json.dumps({"name": name, **{k: round(v, 3) for k, v in g.items()}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--minimal", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["w1", "demo"])
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--measure", type=float, default=90.0)
    parser.add_argument("--trace", type=float, default=30.0, help="seconds of strace by writer (0: none)")
    parser.add_argument("--tbw", type=float, default=10.0, help="card endurance, terabytes written")
    parser.add_argument("--keep", type=Path, help="keep the state directories here")
    parser.add_argument("--demo-config", type=Path, help="the demo on this configuration (default: the example)")
    args = parser.parse_args()
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    if args.minimal:
        asyncio.run(minimal_loop(int(args.minimal[0]), Path(args.minimal[1])))
        return 0
    # the state must sit on a real disk: write_bytes is 0 on tmpfs
    base = args.keep or Path(tempfile.mkdtemp(prefix="sd-wear-", dir="/var/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; uptime: {_uptime()}")
        if args.only in (None, "w1"):
            report("W1 (village-gateway run, 10 SDM630 x 16 values every 1 s, journal, influx-v1 sink)",
                   run_w1(args, base), args, None)  # fmt: skip
        if args.only in (None, "demo"):
            report("demo (village-gateway demo, the example village)", run_demo(args, base), args, None)
        print(f"uptime after: {_uptime()}")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
