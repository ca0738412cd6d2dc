"""BLE decode path: memory of the stack and adverts decoded per second through the bleak callback.

Prints: RSS of a bare interpreter, after importing bleak + bleparser + our driver, and the rate
at which real advertisement bytes (one per supported format, encrypted ones included) go through
:class:`drivers.ble.AdvertListener` (decode + coalescing), and at which duplicates are folded.
Run: ``.venv/bin/python bench/ble_decode.py``.
"""

from __future__ import annotations

import resource
import time


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    base = rss_mb()
    t0 = time.perf_counter()
    import bleak  # noqa: F401
    import bleparser  # noqa: F401

    from drivers.ble import AdvertListener, BleSensor
    from drivers.sim.ble_adverts import Climate, encode, to_bleak
    from gateway.clock import SystemClock
    from gateway.metrics import Metrics

    imported = rss_mb()
    print(f"RSS bare interpreter: {base:.1f} MB")
    print(
        f"RSS after importing bleak + bleparser + drivers.ble: {imported:.1f} MB "
        f"(+{imported - base:.1f} MB, {time.perf_counter() - t0:.2f} s)"
    )

    key = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
    cases = [
        ("bthome", None),
        ("bthome", key),
        ("atc1441", None),
        ("pvvx", None),
        ("mibeacon", None),
        ("mibeacon", key),
        ("ruuvi", None),
    ]
    for fmt, bindkey in cases:
        address = "A4:C1:38:02:83:F4"
        published = []
        listener = AdvertListener(
            sensors=[BleSensor("t", address, bindkey=bindkey)],
            on_update=published.append,
            metrics=Metrics(),
            clock=SystemClock(),
            heartbeat_s=0.0,
        )
        adverts = [
            to_bleak(address, encode(fmt, address, Climate(18 + i % 50 / 10, 50.0), i, bindkey), -60)
            for i in range(2000)
        ]
        start = time.perf_counter()
        for device, adv in adverts:
            listener(device, adv)
        fresh = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(2000):
            listener(*adverts[-1])  # the same frame repeated: coalesced
        dup = time.perf_counter() - start
        label = f"{fmt}{' (encrypted)' if bindkey else ''}"
        print(
            f"{label:<22} {len(adverts) / fresh:8.0f} new adverts/s   {2000 / dup:8.0f} repeats/s   "
            f"published {len(published)}"
        )
    print(f"RSS at the end: {rss_mb():.1f} MB")


if __name__ == "__main__":
    main()
