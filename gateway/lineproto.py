"""InfluxDB line protocol: :class:`~gateway.model.Reading` <-> one line of bytes.

Rules of this module:
- pure functions, no I/O; the output is byte-for-byte what ``influxdb-client``'s own
  ``Point.to_line_protocol()`` writes for the same point (the tests use it as an oracle);
- measurement: ``,`` and space escaped; tag keys, tag values and field keys: ``,``, ``=``,
  space (and ``\\n``, ``\\t``, ``\\r`` as two characters, like the client); string field
  values: ``"`` and ``\\`` escaped;
- integers carry the ``i`` suffix, booleans are ``true``/``false``, whole floats drop
  ``.0`` (still floats for InfluxDB: no ``i``), timestamps are integer nanoseconds;
- :func:`decode` reverses :func:`encode` (export, MQTT and tests use it) and reads a line
  the way InfluxDB does; the one ambiguity of the format, a tag value ending in a backslash
  (written ``\\ `` like the client does), reads back as a trailing space, as the server
  would store it; and like the server it leaves ``\\t``/``\\r`` as two characters.
  Malformed input raises :class:`LineProtocolError`.

Example::

    >>> from gateway.model import Reading
    >>> r = Reading.make("meter", {"site": "st martin"}, {"power_w": 12.5, "n": 3},
    ...                  time_ns=1_700_000_000_000_000_000)
    >>> encode(r)
    b'meter,site=st\\\\ martin n=3i,power_w=12.5 1700000000000000000'
    >>> decode(encode(r)) == r
    True
"""

from __future__ import annotations

import functools

from gateway.model import FieldValue, Reading

_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_STRING = str.maketrans({'"': r"\"", "\\": r"\\"})
_UNESCAPE = {",": ",", "=": "=", " ": " "}  # what InfluxDB itself unescapes in names and tag values


class LineProtocolError(ValueError):
    """A line that is not valid line protocol (as written by :func:`encode`)."""


def _tag_value(value: str) -> str:
    escaped = value.translate(_ESCAPE_KEY)
    # a trailing backslash would escape the separator that follows (influxdb-client does the same)
    return escaped + " " if escaped.endswith("\\") else escaped


def format_field(value: FieldValue) -> str:
    """One field value as line protocol text."""
    if isinstance(value, bool):  # before int: bool is an int in Python
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        text = str(value)
        return text[:-2] if text.endswith(".0") else text
    return '"' + value.translate(_ESCAPE_STRING) + '"'


def series_key(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    """``measurement,tag=value,...`` with escaping: the series identity as InfluxDB writes it."""
    head = measurement.translate(_ESCAPE_MEASUREMENT)
    if tags:
        head += "," + ",".join(f"{k.translate(_ESCAPE_KEY)}={_tag_value(v)}" for k, v in tags)
    return head


#: A gateway has a few hundred series: their escaped keys are computed once.
_cached_series_key = functools.lru_cache(maxsize=4096)(series_key)


def encode_text(reading: Reading) -> str:
    """One reading as a line of line protocol (no trailing newline)."""
    parts = []
    for key, value in reading.fields:
        # field keys are valid names (Reading checks ``[a-z][a-z0-9_]*``): nothing to escape
        kind = type(value)
        if kind is float:
            text = repr(value)
            parts.append(f"{key}={text[:-2] if text.endswith('.0') else text}")
        elif kind is int:
            parts.append(f"{key}={value}i")
        else:
            parts.append(f"{key}={format_field(value)}")
    return f"{_cached_series_key(reading.measurement, reading.tags)} {','.join(parts)} {reading.time_ns}"


def encode(reading: Reading) -> bytes:
    """One reading as UTF-8 line protocol bytes (no trailing newline)."""
    return encode_text(reading).encode("utf-8")


def join(lines: list[bytes]) -> bytes:
    """A write body: lines separated by ``\\n``."""
    return b"\n".join(lines)


# ---------------------------------------------------------------- parsing


def _split_unescaped(text: str, sep: str, *, quotes: bool) -> list[str]:
    """Split at ``sep`` characters that are not backslash-escaped (nor inside quotes, if ``quotes``).

    Quotes only delimit string *field values*: in names and tag values they are plain characters.
    """
    parts: list[str] = []
    current: list[str] = []
    i, quoted = 0, False
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char == '"' and quotes:
            quoted = not quoted
        elif char == sep and not quoted:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    if quoted:
        raise LineProtocolError("unterminated string")
    parts.append("".join(current))
    return parts


def _split_first_space(text: str) -> tuple[str, str, str]:
    """``(series, " ", rest)`` at the first unescaped space (no quoting in the series part)."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == " ":
            return text[:i], " ", text[i + 1 :]
        i += 1
    return text, "", ""


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _UNESCAPE:
            out.append(_UNESCAPE[text[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _parse_value(text: str) -> FieldValue:
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise LineProtocolError(f"bad string value {text!r}")
        body, out, i = text[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '"\\':
                out.append(body[i + 1])
                i += 2
            else:
                out.append(body[i])
                i += 1
        return "".join(out)
    if text in {"t", "T", "true", "True", "TRUE"}:
        return True
    if text in {"f", "F", "false", "False", "FALSE"}:
        return False
    try:
        if text.endswith(("i", "u")):
            return int(text[:-1])
        return float(text)
    except ValueError as exc:
        raise LineProtocolError(f"bad field value {text!r}") from exc


def parse(line: bytes | str) -> tuple[str, dict[str, str], dict[str, FieldValue], int]:
    """``(measurement, tags, fields, time_ns)`` of one line (timestamp required)."""
    text = line.decode("utf-8") if isinstance(line, bytes) else line
    text = text.rstrip("\n")
    head, _, rest = _split_first_space(text)
    field_text, _, stamp = rest.rpartition(" ")
    if not head or not field_text or not stamp:
        raise LineProtocolError(f"expected 'series fields time' sections: {text[:80]!r}")
    head_parts = _split_unescaped(head, ",", quotes=False)
    measurement = _unescape(head_parts[0])
    tags: dict[str, str] = {}
    for part in head_parts[1:]:
        key_value = _split_unescaped(part, "=", quotes=False)
        if len(key_value) != 2:
            raise LineProtocolError(f"bad tag {part!r}")
        tags[_unescape(key_value[0])] = _unescape(key_value[1])
    fields: dict[str, FieldValue] = {}
    for part in _split_unescaped(field_text, ",", quotes=True):
        key_value = _split_unescaped(part, "=", quotes=True)
        if len(key_value) != 2:
            raise LineProtocolError(f"bad field {part!r}")
        fields[_unescape(key_value[0])] = _parse_value(key_value[1])
    try:
        time_ns = int(stamp)
    except ValueError as exc:
        raise LineProtocolError(f"bad timestamp {stamp!r}") from exc
    return measurement, tags, fields, time_ns


def decode(line: bytes | str) -> Reading:
    """The :class:`Reading` a line encodes (raises :class:`LineProtocolError` or ``ModelError``)."""
    measurement, tags, fields, time_ns = parse(line)
    return Reading.make(measurement, tags, fields, time_ns=time_ns)


def timestamp_of(line: bytes) -> int:
    """The timestamp of an encoded line (the last space-separated token)."""
    return int(line[line.rindex(b" ") + 1 :])
