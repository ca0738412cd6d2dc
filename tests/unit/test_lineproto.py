"""Line protocol: byte-for-byte what influxdb-client writes; parsing reverses it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from gateway import lineproto
from gateway.lineproto import LineProtocolError
from gateway.model import Reading

T = 1_780_000_000_123_456_789


def oracle(reading: Reading) -> str:
    """influxdb-client's own serializer for the same point."""
    point = Point(reading.measurement)
    for key, value in reading.tags:
        point.tag(key, value)
    for key, value in reading.fields:
        point.field(key, value)
    point.time(reading.time_ns, WritePrecision.NS)
    return point.to_line_protocol()


CASES = [
    Reading.make("meter", {"site": "st-martin", "device": "mairie-general"},
                 {"power_w": 1234.5, "energy_import_kwh": 100.0, "voltage_v": 229.87}, time_ns=T),
    Reading.make("climate", {"site": "st martin", "zone": "salle=des,fêtes"},
                 {"temperature_c": -3.25, "humidity_pct": 55.0}, time_ns=T),
    Reading.make("relay", {"site": "s", "device": r"odd\name"}, {"on": True, "count": 42, "off": False},
                 time_ns=T),
    Reading.make("event", {"site": "s", "kind": "leak", "subject": "école, sous-sol"},
                 {"message": 'flow "never" stops \\ at night', "severity": "alarm", "litres": 12}, time_ns=T),
    Reading.make("meter", {"site": "s"}, {"tiny": 1e-7, "huge": 1.5e20, "negative_int": -7, "zero": 0.0},
                 time_ns=T),
    Reading.make("event", {"site": "s", "subject": "trailing\\"}, {"message": "tab\tand\ttab"}, time_ns=T),
]


@pytest.mark.parametrize("reading", CASES, ids=lambda r: r.measurement)
def test_encoding_matches_influxdb_client(reading: Reading) -> None:
    assert lineproto.encode_text(reading) == oracle(reading)
    assert lineproto.encode(reading) == oracle(reading).encode("utf-8")


def test_value_types_and_escaping_on_the_wire() -> None:
    line = lineproto.encode(CASES[2])
    assert line == rb"relay,device=odd\name,site=s count=42i,off=false,on=true 1780000000123456789"
    line = lineproto.encode(CASES[1])
    assert line.startswith("climate,site=st\\ martin,zone=salle\\=des\\,fêtes ".encode())
    assert b"humidity_pct=55," in line  # a whole float drops ".0" and stays a float (no "i")


@pytest.mark.parametrize("reading", CASES[:5], ids=lambda r: r.measurement)
def test_decode_reverses_encode(reading: Reading) -> None:
    assert lineproto.decode(lineproto.encode(reading)) == reading


def test_parse_gives_types_back() -> None:
    measurement, tags, fields, time_ns = lineproto.parse(lineproto.encode(CASES[3]))
    assert measurement == "event"
    assert tags["subject"] == "école, sous-sol"
    assert fields == {"litres": 12, "message": 'flow "never" stops \\ at night', "severity": "alarm"}
    assert isinstance(fields["litres"], int)
    assert time_ns == T
    assert lineproto.timestamp_of(lineproto.encode(CASES[3])) == T


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"meter power_w=1", "sections"),
        (b"meter,site power_w=1 1", "bad tag"),
        (b"meter power_w 1", "bad field"),
        (b"meter power_w=abc 1", "bad field value"),
        (b'meter msg="open 1', "unterminated"),
        (b"meter power_w=1 soon", "bad timestamp"),
    ],
)
def test_malformed_lines_are_refused(line: bytes, problem: str) -> None:
    with pytest.raises(LineProtocolError, match=problem):
        lineproto.parse(line)


_tag_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"), min_size=1, max_size=20
)
_field_value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
)


@given(
    tags=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), _tag_text, max_size=4),
    fields=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), _field_value,
                           min_size=1, max_size=5),
)
def test_round_trip_and_oracle_for_any_reading(tags: dict[str, str], fields: dict[str, object]) -> None:
    reading = Reading.make("meter", tags, fields, time_ns=T)  # type: ignore[arg-type]
    assert lineproto.encode_text(reading) == oracle(reading)
    assert lineproto.decode(lineproto.encode(reading)) == reading
