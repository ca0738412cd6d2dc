"""The TOML locator finds the line of any field path pydantic reports."""

from __future__ import annotations

from gateway.tomlpos import line_of, locate_lines

TEXT = """\
version = 1
[site]
id = "x"   # comment
"quoted key" = 2

[buses.rs485]
kind = "rtu"
[[buses.rs485.devices]]
id = "a"
unit = 1
[[buses.rs485.devices]]
id = "b"
unit = 2
[buses.rs485.devices.extra]
note = '''multi
line = 5
'''
after = 3
[buildings."la-mairie".zones.bureaux]
name = "B"
"""


def test_locates_tables_keys_and_array_items() -> None:
    lines = locate_lines(TEXT)
    assert lines["version"] == 1
    assert lines["site"] == 2
    assert lines["site.id"] == 3
    assert lines["site.quoted key"] == 4
    assert lines["buses.rs485.kind"] == 7
    assert lines["buses.rs485.devices[0]"] == 8
    assert lines["buses.rs485.devices[0].unit"] == 10
    assert lines["buses.rs485.devices[1].unit"] == 13
    assert lines["buses.rs485.devices[1].extra.note"] == 15
    assert "buses.rs485.devices[1].extra.line" not in lines  # inside a multi-line string
    assert lines["buses.rs485.devices[1].extra.after"] == 18
    assert lines["buildings.la-mairie.zones.bureaux.name"] == 20


def test_missing_field_falls_back_to_its_table() -> None:
    lines = locate_lines(TEXT)
    assert line_of(lines, "buses.rs485.devices[1].profile") == 11
    assert line_of(lines, "nowhere.at.all") is None
