"""Journal benchmark: ingest rate with group commit, bytes written to disk, RSS with a large backlog.

Usage::

    .venv/bin/python bench/journal_ingest.py                      # 1 M points, 20 M backlog
    .venv/bin/python bench/journal_ingest.py --backlog 2000000    # quicker

Figures printed (and copied by hand into docs/performance.md, "Journal"):
- ingest: points/s through ``append`` + the group-commit loop (1 s windows), with a sink
  that keeps up (rows deleted as delivered) and with the sink down (rows accumulate);
- disk: bytes the process caused to be written (``/proc/self/io`` ``write_bytes``, counted
  when pages are dirtied, so WAL frames, checkpoints and fsync'd metadata all count) per
  million points, against the raw line-protocol bytes; and at the demo's rate (10 points
  per 1 s commit), bytes per commit and per day;
- backlog: fill the journal with N points (sink down), then drain it page by page
  (``fetch(limit=5000, max_bytes=1 MB)`` + ``advance``) sampling RSS: memory must stay flat.

Runs on the disk under ``--dir`` (default: a fresh directory in /var/tmp, not tmpfs).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from gateway import lineproto
from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.model import Reading

T0 = 1_780_000_000 * 1_000_000_000


def pool(n: int = 5_000) -> list[Reading]:
    """Realistic meter points: 4 tags, 8 fields (an SDM630-like poll), ~250 bytes of line protocol."""
    out = []
    for i in range(n):
        out.append(Reading.make(
            "meter",
            {"site": "st-martin", "building": f"b{i % 5}", "zone": f"z{i % 3}",
             "device": f"meter-{i % 10:02d}"},
            {"voltage_l1_v": 230.1 + i % 7, "voltage_l2_v": 229.4, "voltage_l3_v": 231.2,
             "current_l1_a": 3.25 + i % 11, "power_w": 1500.0 + i, "power_factor": 0.97,
             "frequency_hz": 50.01, "energy_import_kwh": 12345.6 + i / 100},
            time_ns=T0 + i * 100_000_000,
        ))
    return out


def write_bytes() -> int:
    with open("/proc/self/io", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fresh(directory: Path, name: str, *, sinks: tuple[str, ...] = ("remote",), budget_mb: int = 100_000,
          interval: float = 1.0) -> Journal:
    path = directory / name
    for extra in ("", "-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    return Journal(path, sinks=sinks, metrics=Metrics(), clock=SystemClock(),
                   budget_bytes=budget_mb * 1024 * 1024, commit_interval_s=interval, buffer_points=2_000_000)


async def ingest(directory: Path, points: int, readings: list[Reading], *, sink_up: bool) -> dict[str, float]:
    """Producer appends as fast as the loop allows; the journal commits every second; a sink drains."""
    journal = fresh(directory, f"ingest-{sink_up}.sqlite")
    raw = sum(len(lineproto.encode(r)) + 1 for r in readings) / len(readings)
    before = write_bytes()
    started = time.perf_counter()
    committer = asyncio.create_task(journal.run())

    async def drain() -> None:
        while True:
            rows = await journal.fetch("remote", limit=5000)
            if rows:
                await journal.advance("remote", rows[-1].id)
            else:
                await asyncio.sleep(0.2)

    drainer = asyncio.create_task(drain()) if sink_up else None
    source = itertools.cycle(readings)
    for chunk_start in range(0, points, 2000):
        for reading in itertools.islice(source, min(2000, points - chunk_start)):
            journal.append(reading)
        await asyncio.sleep(0)
        while journal.stats().buffered > 400_000:  # noqa: ASYNC110 - polling a stats snapshot is the point
            await asyncio.sleep(0.05)
    while journal.stats().committed < points:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    if drainer:
        while journal.stats().sinks["remote"].backlog:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        drainer.cancel()
    committer.cancel()
    with contextlib_suppress():
        await committer
    journal.close()
    written = write_bytes() - before
    return {"points_per_s": points / elapsed, "bytes_per_million": written * 1_000_000 / points,
             "raw_bytes_per_million": raw * 1_000_000, "commits": journal.stats().commits}


class contextlib_suppress:  # noqa: N801 - tiny local helper: suppress the task's CancelledError
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def demo_rate(directory: Path, readings: list[Reading], commits: int = 600) -> dict[str, float]:
    """10 points per 1 s window (the issue's 10-meter workload), one sink keeping up."""
    journal = fresh(directory, "demo.sqlite")
    source = itertools.cycle(readings)
    for _ in range(30):  # warm up: file created, tables allocated
        for _ in range(10):
            journal.append(next(source))
        journal.commit()
        journal.advance_sync("remote", journal.stats().last_id)
    before = write_bytes()
    own_before = journal.stats().written_bytes
    for _ in range(commits):
        for _ in range(10):
            journal.append(next(source))
        journal.commit(save_cursors=False)  # like the loop: cursors saved every 5 s, not 1 s
        journal.advance_sync("remote", journal.stats().last_id)
    written = write_bytes() - before
    own = journal.stats().written_bytes - own_before  # the journal's own counter (its thread's I/O)
    journal.close()
    per_commit = written / commits
    return {"bytes_per_commit": per_commit, "mb_per_day": per_commit * 86_400 / 1e6,
            "own_bytes_per_commit": own / commits}


async def backlog(directory: Path, points: int, readings: list[Reading]) -> dict[str, float]:
    journal = fresh(directory, "backlog.sqlite")
    source = itertools.cycle(readings)
    started = time.perf_counter()
    rss_fill = 0.0
    for chunk_start in range(0, points, 50_000):
        for reading in itertools.islice(source, min(50_000, points - chunk_start)):
            journal.append(reading)
        journal.commit()
        rss_fill = max(rss_fill, rss_mb())
    fill_s = time.perf_counter() - started
    size = journal.stats().bytes_on_disk
    rss_before = rss_mb()
    samples = []
    started = time.perf_counter()
    delivered = 0
    last_commit = time.monotonic()
    while rows := await journal.fetch("remote", limit=5000, max_bytes=1_000_000):
        delivered += len(rows)
        await journal.advance("remote", rows[-1].id)
        if time.monotonic() - last_commit >= 1.0:  # what the group-commit loop does once a second
            journal.commit()
            last_commit = time.monotonic()
            samples.append(rss_mb())
    drain_s = time.perf_counter() - started
    journal.commit()
    journal.close()
    return {"fill_points_per_s": points / fill_s, "file_mb": size / 1e6, "rss_fill_mb": rss_fill,
            "rss_before_drain_mb": rss_before, "rss_drain_max_mb": max(samples or [rss_mb()]),
            "rss_drain_min_mb": min(samples or [rss_mb()]), "drain_points_per_s": delivered / drain_s,
            "delivered": delivered}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points for the ingest runs")
    parser.add_argument("--backlog", type=int, default=20_000_000, help="points in the backlog run (0: skip)")
    parser.add_argument("--dir", type=Path, default=None, help="working directory (on the disk to measure)")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="journal-bench-", dir="/var/tmp"))
    directory.mkdir(parents=True, exist_ok=True)
    readings = pool()
    print(f"journal benchmark in {directory} (RSS at start {rss_mb():.1f} MB)")
    try:
        for sink_up in (True, False):
            r = await ingest(directory, args.points, readings, sink_up=sink_up)
            label = "sink keeping up" if sink_up else "sink down      "
            print(f"ingest, {label}: {r['points_per_s']:,.0f} points/s over {args.points:,} points "
                  f"({r['commits']:.0f} group commits); disk writes {r['bytes_per_million'] / 1e6:,.0f} MB "
                  f"per million points (raw line protocol {r['raw_bytes_per_million'] / 1e6:,.0f} MB)")
        d = demo_rate(directory, readings)
        print(f"demo rate (10 points per 1 s commit, sink keeping up): "
              f"{d['bytes_per_commit'] / 1024:,.1f} KiB "
              f"written per commit = {d['mb_per_day']:,.0f} MB/day (the journal's own "
              f"gateway_journal_written_bytes_total: {d['own_bytes_per_commit'] / 1024:,.1f} KiB per commit)")
        if args.backlog:
            b = await backlog(directory, args.backlog, readings)
            print(f"backlog of {args.backlog:,} points: filled at {b['fill_points_per_s']:,.0f} points/s "
                  f"({b['file_mb']:,.0f} MB on disk), RSS while filling <= {b['rss_fill_mb']:.1f} MB")
            print(f"drain (fetch 5000 rows / 1 MB pages + advance): {b['drain_points_per_s']:,.0f} points/s, "
                  f"{b['delivered']:,} delivered; RSS {b['rss_before_drain_mb']:.1f} MB before, "
                  f"{b['rss_drain_min_mb']:.1f}-{b['rss_drain_max_mb']:.1f} MB during")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the whole run: {peak:.1f} MB")
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    os.nice(5)
    asyncio.run(main())
