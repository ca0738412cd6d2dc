"""The TOML locator finds the line of any field path pydantic reports."""

from __future__ import annotations

from gateway.tomlpos import format_path, locate, parse_path, quick_depth

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
    lines = locate(TEXT).lines
    assert lines[("version",)] == 1
    assert lines[("site",)] == 2
    assert lines[("site", "id")] == 3
    assert lines[("site", "quoted key")] == 4
    assert lines[("buses", "rs485", "kind")] == 7
    assert lines[("buses", "rs485", "devices", 0)] == 8
    assert lines[("buses", "rs485", "devices", 0, "unit")] == 10
    assert lines[("buses", "rs485", "devices", 1, "unit")] == 13
    assert lines[("buses", "rs485", "devices", 1, "extra", "note")] == 15
    assert ("buses", "rs485", "devices", 1, "extra", "line") not in lines  # inside a multi-line string
    assert lines[("buses", "rs485", "devices", 1, "extra", "after")] == 18
    assert lines[("buildings", "la-mairie", "zones", "bureaux", "name")] == 20


def test_missing_field_falls_back_to_its_table_then_the_document() -> None:
    located = locate(TEXT)
    assert located.line_of(("buses", "rs485", "devices", 1, "profile")) == 11
    assert located.line_of(("nowhere", "at", "all")) == 1


NESTED = """\
[a]
schedule = [
  { days = "mon", start = "08:00" },   # a comment with ] and }
  { days = "tue", start = '09:00' },
]
"dotted.key" = 1
x.y = "a # not a comment"
"" = 2
[[t]]
[[t.u]]
v = 1
[[t]]
[[t.u]]
v = 2
[[t.u]]
v = 3
"""


def test_array_elements_quoted_keys_and_nested_arrays_of_tables() -> None:
    lines = locate(NESTED).lines
    assert lines[("a", "schedule", 0, "days")] == 3
    assert lines[("a", "schedule", 1, "start")] == 4
    assert lines[("a", "dotted.key")] == 6  # a quoted key with a dot is one key
    assert ("a", "dotted", "key") not in lines
    assert lines[("a", "x", "y")] == 7
    assert lines[("a", "")] == 8
    assert lines[("t",)] == 9  # the array of tables itself, at its first header
    assert lines[("t", 0, "u", 0, "v")] == 11
    assert lines[("t", 1, "u", 0, "v")] == 14  # each [[t]] starts its own [[t.u]] array
    assert lines[("t", 1, "u", 1, "v")] == 16


def test_syntax_errors_are_placed_in_the_key_or_table_they_interrupt() -> None:
    located = locate('[site]\nid = "x"\nname = = 3\n[web]\n%%%\n')
    assert located.context_at(3) == ("site", "name")
    assert located.context_at(5) == ("web",)
    assert locate("%%%\n").context_at(1) == ()


def test_nesting_depth_is_measured_without_recursion() -> None:
    deep = locate("[a]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    assert (deep.depth, deep.depth_line, deep.depth_path) == (5000, 2, ("a", "x"))
    assert locate("y = [[1, 2], {a = [3]}]").depth == 3


def test_never_raises_on_broken_text() -> None:
    for text in ('a = "unterminated\nb = 1', "[[", "x = [1, ", 'k = """never closed', "= 1", "[a.]\n", "\\\x00"):
        locate(text)


def test_paths_are_written_as_in_toml_and_read_back() -> None:
    path = ("buildings", "la mairie", "zones", "b", "schedule", 2, "")
    assert format_path(path) == 'buildings."la mairie".zones.b.schedule[2].""'
    assert format_path(()) == "(top level)"
    assert parse_path("buses.rs485.devices[2].unit") == ("buses", "rs485", "devices", 2, "unit")
    assert parse_path('simulation.zones."salle/grande_salle"') == ("simulation", "zones", "salle/grande_salle")


def test_the_quick_depth_bound_ignores_strings_and_comments_and_never_understates() -> None:
    text = 'a = "[[[[[[" # ]]]]{{{{\nb = \'{{{{\'\nc = """\n[[[[\n"""\nd = [[1], {e = [2]}]\n[[t]]\n'
    assert quick_depth(text) == 3
    for sample in (TEXT, NESTED, text, "x = " + "[" * 40 + "]" * 40, 'x = "unclosed [[[[\n'):
        assert quick_depth(sample) >= locate(sample).depth
