"""Configuration fuzzing at scale: N mutated files through the real loader, the rate, the outcomes.

Prints the number of cases, failures (anything but a located ConfigError: an escaped exception, a
problem without its line or field path; each printed with its seed), the cases per second and the
share of outcomes (not TOML, too deeply nested, invalid, valid). ``make test`` runs 10⁵ seeds
(``tests/unit/test_config_fuzz.py``); this runs any range, e.g. further seeds:
``.venv/bin/python bench/config_fuzz.py --first 100000 --count 1000000``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import config_fuzz


def outcomes(first: int, count: int, base_dir: Path) -> collections.Counter[str]:
    """What the loader said for a sample of the range (one process)."""
    from gateway.config import parse_config
    from gateway.errors import ConfigError

    seen: collections.Counter[str] = collections.Counter()
    for seed in range(first, first + count):
        try:
            parse_config(config_fuzz.mutate(seed).text, file="fuzz.toml", base_dir=base_dir)
        except ConfigError as exc:
            text = str(exc)
            kind = "not TOML" if "not valid TOML" in text else "nested too deep" if "nested more" in text else "invalid"
            seen[kind] += 1
        else:
            seen["valid"] += 1
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every CPU)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        failures = config_fuzz.run_parallel(args.count, base_dir=Path(tmp), workers=args.workers, first=args.first)
        elapsed = time.perf_counter() - started
        sample = outcomes(args.first, min(args.count, 5000), Path(tmp))
    for failure in failures[:20]:
        print(failure, end="\n\n")
    total = sum(sample.values())
    shares = ", ".join(f"{name} {100 * n / total:.1f} %" for name, n in sample.most_common())
    print(f"config fuzz: seeds {args.first}..{args.first + args.count - 1}: {len(failures)} failures")
    print(f"config fuzz: {args.count / elapsed:.0f} cases/s ({elapsed:.1f} s); outcomes (first {total}): {shares}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
