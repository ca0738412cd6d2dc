"""A mutation fuzzer for configuration files: every broken file gets a located error, never a traceback.

It starts from real configurations (``examples/village.toml``, which the demo embeds, the file
install.sh writes, the test villages) and breaks them the way people and editors do: lines deleted, duplicated, swapped or cut
short; keys misspelt, emptied, made unicode or renamed to words the schema uses elsewhere (a sink
called ``mqtt``, a bus called ``tcp``); values of the wrong type, out of range, huge, empty, with a
UTC offset, nested; tables turned into arrays of tables and back; a byte order mark, CRLF endings.

Each case is a pure function of its seed (``mutate(seed)``), so a failure is reproduced by its
number alone, in-process, with the real loader (:func:`gateway.config.parse_config`). The verdict
(:func:`check`) holds the loader to its promise: either a configuration, or :class:`ConfigError`
whose every problem names a line of the file and a non-empty field path. Anything else escaping is
a bug, reported with the seed, the mutations and the traceback.

Example::

    failures = run(range(1000), base_dir=tmp_path)
    assert failures == []
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gateway.config import parse_config
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

_ASSIGN = re.compile(r"^(\s*)((?:[A-Za-z0-9_-]+|\"[^\"]*\")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"))*)(\s*=\s*)(.*)$")
_HEADER = re.compile(r"^(\s*)(\[\[?)([^\]]*)(\]\]?)(.*)$")

#: Values of every TOML type, the boundaries of the schema's ranges, and the classic bad inputs.
VALUES = (
    '""', '" "', '"x"', '"mqtt"', '"tcp"', '"rtu"', '"influx-v1"', '"influx-v2"', '"MQTT"', '"kind"',
    "0", "-1", "1", "2", "7", "17", "27", "28", "247", "248", "255", "502", "65535", "65536",
    "9223372036854775807", "-9223372036854775808", "1_000_000_000_000", "0x7fffffff", "0o777", "0b1",
    "0.0", "-0.0", "0.05", "1e308", "-1e308", "5e-324", "1e-400", "inf", "-inf", "nan", "+nan",
    "true", "false",
    "2026-01-17T14:00:00Z", "2026-01-17T14:00:00+01:00", "2026-01-17T14:00:00-09:30", "2026-01-17 14:00:00Z",
    "2026-01-17T14:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-01-17", "9999-12-31",
    "0001-01-01", "14:00:00", "07:30:00.5", "00:00:00", "23:59:59",
    "[]", "[[]]", '["a"]', "[1, 2]", '[1, "a"]', '["mon", "sun"]', "[{}]", '[{ days = "mon" }]',
    "{}", "{ a = 1 }", '{ start = "23:00", end = "05:00" }', '{ plus = "x", minus = "x" }',
    '{ start = 2026-01-17T14:00:00Z }', '{ "" = 1 }',
    '"' + "a" * 300 + '"', '"' + "é" * 64 + '"', '"Europe/Paris"', '"Mars/Olympus_Mons"', '"UTC"',
    '"' + "Europe/" * 40 + 'Paris"', '"../../../etc/localtime"', '"\\u0000"', '"a\\u0000b"', '"\\t"',
    '"/dev/null"', '"/dev/zero"', '"/nonexistent/file"', '"."', '"~/x"', '"hci0"', '"hci99"',
    '"sdm630"', '"pulse-counter"', '"nope"', '"salle/grande_salle"', '"a/b/c"', '"/"',
    '"24:00"', '"25:61"', '"7:5"', '"mon-fri"', '"sun-mon"', '"daily"', '"xyz"', '"lun,,mar"',
    '"A4:C1:38:02:83:F4"', '"a4-c1-38-02-83-f4"', '"0123456789abcdef0123456789abcdef"', '"zz"',
    '"http://127.0.0.1:8086"', '"https://"', '"ftp://x"', '"http://[::1]:99999"',
    '"127.0.0.1:8080"', '"[::1]:80"', '"::1:80"', '"host:0"', '":8080"', '"1.2.3.4"', '"not-an-ip"',
    '"village/+/#"', '"a//b"', '"confort"', '"arret"', '"sensor"', '"hors-gel"', '"eco"',
    '"""multi\nline"""', "'''raw'''", "'literal'", '"\\U0001F525"', '"🔥"', '"\\ud800"',
)

#: Keys: misspellings are made from the file's own keys; these are the nasty ones.
KEYS = (
    '""', '" "', '"a.b"', '"clé"', '"🔥"', "kind", "mqtt", "tcp", "rtu", "id", "name", "enabled", "version",
    "site", "journal", "sinks", "buses", "devices", "zones", "heating", "schedule", '"[key]"', "0", "-",
    "A", '"\\u0000"', '"' + "k" * 200 + '"',
)

#: Table names put in headers: words the schema uses as tags, identifiers that are not, unicode.
TABLE_NAMES = (
    "mqtt", "tcp", "rtu", "influx-v1", "influx-v2", "journal", "site", "Mairie", "a b", "", "clé", "[key]",
    "0", "x" * 70, "function-after", "literal", "none", "str", "kind",
)


@dataclass(frozen=True)
class Case:
    """One mutated file: its seed, where it came from, what was done to it."""

    seed: int
    source: str
    mutations: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Failure:
    """A case the loader did not handle as promised."""

    case: Case
    problem: str

    def __str__(self) -> str:
        return (
            f"seed {self.case.seed} ({self.case.source}; {', '.join(self.case.mutations)}): {self.problem}\n"
            f"--- mutated file ---\n{_excerpt(self.case.text)}"
        )


@cache
def seeds() -> tuple[tuple[str, str], ...]:
    """The configurations mutated: the documented example, the demo's, and the test villages."""
    from tests.hil.conftest import HALL
    from tests.support.village import EVENINGS, hall, site
    from tests.web.conftest import CONFIG as WEB

    state = '"state"'
    return (
        ("examples/village.toml", (ROOT / "examples" / "village.toml").read_text(encoding="utf-8")),
        ("examples/gateway.toml.template", _installed_template()),
        ("tests/hil HALL", HALL.replace('"{state_dir}"', state)),
        ("tests/web CONFIG", WEB.replace('"{state_dir}"', state)),
        ("tests/support/village", site() + hall(schedule=EVENINGS) + '[gpio.relays.salle-chauffage]\npin = 17\n'),
    )


def _installed_template() -> str:
    """The file install.sh writes, its placeholders filled in as install.sh does."""
    text = (ROOT / "examples" / "gateway.toml.template").read_text(encoding="utf-8")
    values = {"@SITE_ID@": "saint-martin", "@SITE_NAME@": "Saint-Martin", "@TIMEZONE@": "Europe/Paris",
              "@LATITUDE@": "47.39", "@LONGITUDE@": "0.98", "@WEB_LISTEN@": "127.0.0.1:8080"}  # fmt: skip
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return re.sub(r"@[A-Z_]+@", "", text)  # line switches (@INFLUX@, @MQTT@): the sections enabled


def mutate(seed: int) -> Case:
    """The mutated file of ``seed`` (one to four mutations of one of :func:`seeds`)."""
    rng = random.Random(seed)
    source, text = rng.choice(seeds())
    lines = text.splitlines()
    done: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        name, mutation = rng.choice(MUTATIONS)
        lines = mutation(lines, rng)
        done.append(name)
    out = "\n".join(lines) + "\n"
    if rng.random() < 0.03:
        out = out.replace("\n", "\r\n")
        done.append("crlf")
    if rng.random() < 0.02:
        out = "\ufeff" + out
        done.append("bom")
    return Case(seed, source, tuple(done), out)


def check(case: Case, *, base_dir: Path) -> Failure | None:
    """Run the real loader on ``case``: ``None`` when it kept its promise."""
    line_count = case.text.count("\n") + 1
    try:
        parse_config(case.text, file="fuzz.toml", base_dir=base_dir)
    except ConfigError as exc:
        if not exc.problems:
            return Failure(case, "ConfigError without any problem")
        for problem in exc.problems:
            lines = line_count if problem.file == "fuzz.toml" else _lines_of(problem.file)  # a meter profile's
            if problem.line is None or not 1 <= problem.line <= lines:
                return Failure(case, f"problem without a line of the file: {problem}")
            if not problem.path or problem.path == "(file)":
                return Failure(case, f"problem without a field path: {problem}")
        return None
    except Exception:  # what the fuzzer looks for: anything but ConfigError escaping
        return Failure(case, "exception escaped the loader:\n" + traceback.format_exc(limit=-8))
    return None


def stage(text: str, *, base_dir: Path) -> str:
    """How far the loader takes ``text``: ``"toml"`` (not TOML), ``"nested"`` (too deep), ``"invalid"``
    (validation or a cross-check refused it) or ``"valid"``."""
    try:
        parse_config(text, file="fuzz.toml", base_dir=base_dir)
    except ConfigError as exc:
        message = str(exc)
        return "toml" if "not valid TOML" in message else "nested" if "nested more than" in message else "invalid"
    return "valid"


def _lines_of(file: str) -> int:
    """Lines of another file a problem names (0 if it cannot be read: then no line is right)."""
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace").count("\n") + 1
    except OSError:
        return 0


def run(seed_numbers: Iterable[int], *, base_dir: Path) -> list[Failure]:
    """Every failure among ``seed_numbers``."""
    failures = []
    for seed in seed_numbers:
        failure = check(mutate(seed), base_dir=base_dir)
        if failure is not None:
            failures.append(failure)
    return failures


# ---- mutations: (lines, rng) -> lines ---------------------------------------------------------


def _assignments(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _ASSIGN.match(line) and not line.lstrip().startswith("#")]


def _headers(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _HEADER.match(line)]


def _pick(rng: random.Random, indexes: list[int]) -> int | None:
    return rng.choice(indexes) if indexes else None


def _chosen(
    rng: random.Random, lines: list[str], indexes: list[int], pattern: re.Pattern[str]
) -> tuple[int, re.Match[str]] | None:
    """One of the lines at ``indexes`` (assignments or headers), picked at random, with its ``pattern`` match."""
    i = _pick(rng, indexes)
    if i is None:
        return None
    match = pattern.match(lines[i])
    assert match is not None
    return i, match


def _with_line(lines: list[str], i: int, text: str) -> list[str]:
    """``lines`` with line ``i`` replaced by ``text``."""
    out = list(lines)
    out[i] = text
    return out


def delete_line(lines: list[str], rng: random.Random) -> list[str]:
    if not lines:
        return lines
    i = rng.randrange(len(lines))
    return lines[:i] + lines[i + 1 :]


def duplicate_line(lines: list[str], rng: random.Random) -> list[str]:
    if not lines:
        return lines
    i = rng.randrange(len(lines))
    return [*lines[:i + 1], lines[i], *lines[i + 1:]]


def swap_lines(lines: list[str], rng: random.Random) -> list[str]:
    if len(lines) < 2:
        return lines
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    out = list(lines)
    out[i], out[j] = out[j], out[i]
    return out


def truncate(lines: list[str], rng: random.Random) -> list[str]:
    text = "\n".join(lines)
    return text[: rng.randrange(len(text) + 1)].split("\n") if text else lines


def replace_value(lines: list[str], rng: random.Random) -> list[str]:
    chosen = _chosen(rng, lines, _assignments(lines), _ASSIGN)
    if chosen is None:
        return lines
    i, match = chosen
    if rng.random() < 0.3:  # a value taken from elsewhere in the file: the realistic confusion
        j = _pick(rng, _assignments(lines))
        other = _ASSIGN.match(lines[j]) if j is not None else None
        value = other.group(4) if other else rng.choice(VALUES)
    else:
        value = rng.choice(VALUES)
    return _with_line(lines, i, match.group(1) + match.group(2) + match.group(3) + value)


def rename_key(lines: list[str], rng: random.Random) -> list[str]:
    chosen = _chosen(rng, lines, _assignments(lines), _ASSIGN)
    if chosen is None:
        return lines
    i, match = chosen
    key = match.group(2)
    roll = rng.random()
    if roll < 0.4 and len(key) > 1:  # a typo: two letters swapped, one dropped or doubled
        k = rng.randrange(len(key) - 1)
        key = rng.choice((key[:k] + key[k + 1] + key[k] + key[k + 2 :], key[:k] + key[k + 1 :], key[:k] + key[k] + key[k:]))
    elif roll < 0.55:
        key = key.upper()
    elif roll < 0.7:
        key = f"{key}.{rng.choice(KEYS)}"  # a dotted key: the value becomes a table
    else:
        key = rng.choice(KEYS)
    return _with_line(lines, i, match.group(1) + key + match.group(3) + match.group(4))


def insert_key(lines: list[str], rng: random.Random) -> list[str]:
    i = rng.randrange(len(lines) + 1)
    key = rng.choice(KEYS) if rng.random() < 0.5 else rng.choice(_keys_of(lines) or ["x"])
    return [*lines[:i], f"{key} = {rng.choice(VALUES)}", *lines[i:]]


def _keys_of(lines: list[str]) -> list[str]:
    return [m.group(2) for line in lines if (m := _ASSIGN.match(line))]


def rename_table(lines: list[str], rng: random.Random) -> list[str]:
    chosen = _chosen(rng, lines, _headers(lines), _HEADER)
    if chosen is None:
        return lines
    i, match = chosen
    parts = [p.strip() for p in match.group(3).split(".")]
    k = rng.randrange(len(parts))
    name = rng.choice(TABLE_NAMES)
    parts[k] = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace('"', "") + '"'
    return _with_line(lines, i, match.group(1) + match.group(2) + ".".join(parts) + match.group(4) + match.group(5))


def toggle_array_of_tables(lines: list[str], rng: random.Random) -> list[str]:
    chosen = _chosen(rng, lines, _headers(lines), _HEADER)
    if chosen is None:
        return lines
    i, match = chosen
    double = match.group(2) == "[["
    opening, closing = ("[", "]") if double else ("[[", "]]")
    return _with_line(lines, i, match.group(1) + opening + match.group(3) + closing + match.group(5))


def nest_value(lines: list[str], rng: random.Random) -> list[str]:
    chosen = _chosen(rng, lines, _assignments(lines), _ASSIGN)
    if chosen is None:
        return lines
    i, match = chosen
    value = match.group(4).split("#")[0].strip() or "1"
    depth = rng.choice((1, 1, 2, 3, 8, 31, 32, 33, 40, 200, 1000))
    nested = "[" * depth + value + "]" * depth if rng.random() < 0.5 else "{ a = " * depth + value + " }" * depth
    return _with_line(lines, i, match.group(1) + match.group(2) + match.group(3) + nested)


def unicode_noise(lines: list[str], rng: random.Random) -> list[str]:
    if not lines:
        return lines
    i = rng.randrange(len(lines))
    line = lines[i]
    k = rng.randrange(len(line) + 1)
    noise = rng.choice(("é", "\u200b", "\u00a0", "\x00", "\x7f", "\ufeff", "🔥", "\u202e", "\t", "\\", '"', "'", "#"))
    return _with_line(lines, i, line[:k] + noise + line[k:])


def copy_table(lines: list[str], rng: random.Random) -> list[str]:
    """A table copied under another header (a building pasted twice, a device added by copy)."""
    headers = _headers(lines)
    if not headers:
        return lines
    k = rng.randrange(len(headers))
    start = headers[k]
    end = headers[k + 1] if k + 1 < len(headers) else len(lines)
    block = lines[start:end]
    if rng.random() < 0.5:
        block = rename_table(block, rng)
    at = rng.choice([*headers, len(lines)])
    return lines[:at] + block + lines[at:]


def dotted_table(lines: list[str], rng: random.Random) -> list[str]:
    """A header's first key moved into its assignments (``[a.b]`` + ``c = 1`` -> ``a.b.c = 1``)."""
    i = _pick(rng, _headers(lines))
    if i is None or i + 1 >= len(lines):
        return lines
    match = _HEADER.match(lines[i])
    nxt = _ASSIGN.match(lines[i + 1])
    if match is None or nxt is None or match.group(2) == "[[":
        return lines
    out = list(lines)
    out[i + 1] = f"{match.group(3).strip()}.{nxt.group(2)}{nxt.group(3)}{nxt.group(4)}"
    out[i] = ""
    return out


MUTATIONS = (
    ("delete_line", delete_line),
    ("duplicate_line", duplicate_line),
    ("swap_lines", swap_lines),
    ("truncate", truncate),
    ("replace_value", replace_value),
    ("replace_value", replace_value),
    ("replace_value", replace_value),
    ("rename_key", rename_key),
    ("rename_key", rename_key),
    ("insert_key", insert_key),
    ("rename_table", rename_table),
    ("toggle_array_of_tables", toggle_array_of_tables),
    ("nest_value", nest_value),
    ("unicode_noise", unicode_noise),
    ("copy_table", copy_table),
    ("dotted_table", dotted_table),
)


def _excerpt(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def run_chunk(start: int, stop: int, base_dir: str) -> list[str]:
    """Seeds ``start..stop-1`` in a worker process: the failures as text (picklable)."""
    return [str(f) for f in run(range(start, stop), base_dir=Path(base_dir))]


def run_parallel(count: int, *, base_dir: Path, workers: int | None = None, first: int = 0) -> list[str]:
    """Seeds ``first..first+count-1`` split into contiguous chunks over ``workers`` processes."""
    import concurrent.futures
    import multiprocessing
    import os

    workers = workers or os.cpu_count() or 1
    chunk = -(-count // (workers * 4))  # a few chunks per worker: a slow chunk does not hold the rest back
    bounds = [(s, min(s + chunk, first + count)) for s in range(first, first + count, chunk)]
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        results = pool.map(run_chunk, *zip(*[(a, b, str(base_dir)) for a, b in bounds], strict=True))
        return [failure for part in results for failure in part]
