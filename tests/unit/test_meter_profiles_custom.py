"""Profiles of one's own (issue 11): a path or the profiles/ folder beside the configuration, validated
exactly like the shipped ones, every mistake located in the profile file (FILE:LINE: field: reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.modbus_profile import ProfileError, load_profile
from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.meter_profiles import PROFILES_DIR, find_profile, load_meter_profile
from tests.support.village import building, meter, site

CONFIG = (
    site("x", "X", latitude=47.0, longitude=1.0)
    + building("ecole", "École", kind="school")
    + '[buses.compteurs]\nkind = "tcp"\nhost = "10.0.0.5"\n'
    + meter("compteurs", "ecole-general", unit=1, profile="{profile}", building="ecole")
)
PROFILE_LINE = 15  # the line of `profile = ...` above

#: A single-phase meter's map, as an installer writes it (line numbers matter to the tests below).
MY_METER = """\
name = "my-meter"
description = "Vendor X single-phase meter"
source = "Vendor X 'Modbus map' v2, table 3"
numbering = "zero-based"

[defaults]
function = "input"

[fields.power_w]
register = 12
unit = "W"

[fields.energy_import_kwh]
register = 72
unit = "kWh"

[bounds]
power_w = [-18000, 18000]
energy_kwh = [0, 1e9]

[bounds.rise_per_hour]
energy_kwh = 18
"""


def village(tmp_path: Path, profile: str, *, files: dict[str, str] | None = None) -> Path:
    """A configuration in ``tmp_path/etc`` naming ``profile``, with ``files`` written beside it."""
    etc = tmp_path / "etc"
    etc.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        path = etc / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    config = etc / "gateway.toml"
    config.write_text(CONFIG.format(profile=profile), encoding="utf-8")
    return config


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(config)
    return [str(p) for p in err.value.problems]


# ---- where a profile is found -----------------------------------------------------------------------
def test_a_name_is_found_in_the_profiles_folder_beside_the_configuration(tmp_path, monkeypatch):
    config = village(tmp_path, "my-meter", files={"profiles/my-meter.toml": MY_METER})
    monkeypatch.chdir(tmp_path)  # not the configuration's folder: the folder is found from the file
    device = load_config(config).buses["compteurs"].devices[0]
    assert device.profile == "my-meter"  # as written
    assert device.meter_profile.name == "my-meter"
    assert [(f.name, f.address, f.function_code) for f in device.meter_profile.fields] == [
        ("power_w", 12, 4),
        ("energy_import_kwh", 72, 4),
    ]
    assert device.meter_profile.bounds.rise_of("energy_import_kwh") == 18


@pytest.mark.parametrize("written", ["./meters/my-meter.toml", "meters/my-meter.toml", "ABSOLUTE"])
def test_a_path_is_taken_from_the_configurations_folder(tmp_path, monkeypatch, written):
    absolute = str(tmp_path / "etc" / "meters" / "my-meter.toml")
    config = village(tmp_path, absolute if written == "ABSOLUTE" else written, files={"meters/my-meter.toml": MY_METER})
    monkeypatch.chdir(tmp_path)
    assert load_config(config).buses["compteurs"].devices[0].meter_profile.name == "my-meter"


def test_the_lookup_order_is_path_then_folder_then_shipped(tmp_path):
    base = tmp_path
    (base / PROFILES_DIR).mkdir()
    (base / PROFILES_DIR / "my-meter.toml").write_text(MY_METER, encoding="utf-8")
    (base / "my-meter.toml").write_text(MY_METER, encoding="utf-8")
    assert find_profile("./my-meter.toml", base_dir=base) == base / "my-meter.toml"  # a path: that file
    assert find_profile("my-meter.toml", base_dir=base) == base / "my-meter.toml"  # ".toml": a path too
    assert find_profile("my-meter", base_dir=base) == base / PROFILES_DIR / "my-meter.toml"  # a name: the folder
    assert find_profile("sdm630", base_dir=base) is None  # then the shipped ones
    assert load_meter_profile("sdm630", base_dir=base) == load_profile("sdm630")
    with pytest.raises(ProfileError, match=r"unknown profile 'sdm999'; known: abb-b23, .*my-meter, .*sdm630"):
        find_profile("sdm999", base_dir=base)


def test_an_unknown_name_or_a_missing_file_is_located_at_the_devices_profile(tmp_path):
    config = village(tmp_path, "my-meterr", files={"profiles/my-meter.toml": MY_METER})
    (problem,) = problems(config)
    assert problem.startswith(f"{config}:{PROFILE_LINE}: buses.compteurs.devices[0].profile: unknown profile 'my-meterr'")
    assert "my-meter, " in problem  # the folder's profiles are listed with the shipped ones
    config = village(tmp_path, "./meters/nope.toml")
    assert problems(config) == [
        f"{config}:{PROFILE_LINE}: buses.compteurs.devices[0].profile: no profile file "
        f"{tmp_path / 'etc' / 'meters' / 'nope.toml'} (a relative path is taken from the configuration's folder)"
    ]


def test_a_file_that_is_not_a_file_is_refused_at_the_devices_profile(tmp_path):
    config = village(tmp_path, "/dev/zero")  # never read: it has no end
    assert problems(config) == [
        f"{config}:{PROFILE_LINE}: buses.compteurs.devices[0].profile: cannot read /dev/zero: not a regular file"
    ]


# ---- validated exactly like a shipped profile, errors located in the profile file -------------------------
@pytest.mark.parametrize(
    ("change", "line", "field", "reason"),
    [
        (('unit = "W"', 'unit = "kWh"'), 11, "fields.power_w.unit", "'kWh' cannot give power_w (use W, kW)"),
        (('unit = "kWh"', 'unit = "kWh"\nregistre = 72'), 16, "fields.energy_import_kwh.registre", "Extra inputs"),
        (("[fields.power_w]", "[fields.puissance]"), 9, "fields.puissance", "not a canonical quantity"),
        (("power_w = [-18000, 18000]\n", ""), 17, "bounds.power_w", "missing (the plausible range of its values)"),
        (("energy_kwh = 18", "energy_kwh = inf"), 22, "bounds.rise_per_hour.energy_kwh", "finite number"),
        (("power_w = [-18000, 18000]", "power_w = [18000, -18000]"), 18, "bounds.power_w", "the lower bound 18000"),
        (("[bounds.rise_per_hour]\nenergy_kwh = 18\n", ""), 17, "bounds.rise_per_hour.energy_kwh", "missing"),
        (('name = "my-meter"', 'name = "my_meter"'), 1, "name", "'my_meter' differs from the file name 'my-meter.toml'"),
        (("register = 12", "register = 12\nscale = 1e300"), 11, "fields.power_w.scale", "less than or equal to 1000000000"),
        (("register = 12", "register = [12"), 11, "fields.power_w.register", "not valid TOML: Unclosed array"),
    ],
)
def test_a_mistake_in_a_profile_of_ones_own_is_located_in_its_file(tmp_path, change, line, field, reason):
    config = village(tmp_path, "my-meter", files={"profiles/my-meter.toml": MY_METER.replace(*change)})
    (problem,) = problems(config)
    profile_file = tmp_path / "etc" / "profiles" / "my-meter.toml"
    assert problem.startswith(f"{profile_file}:{line}: {field}: ")
    assert reason in problem


def test_a_profile_of_ones_own_needs_its_bounds_like_a_shipped_one(tmp_path):
    draft = MY_METER[: MY_METER.index("[bounds]")]
    config = village(tmp_path, "./my-meter.toml", files={"my-meter.toml": draft})
    assert problems(config) == [
        f"{tmp_path / 'etc' / 'my-meter.toml'}:1: bounds: missing (each quantity's plausible range: "
        "docs/meter-profiles.md)"
    ]


def test_text_that_is_not_utf8_is_located_at_its_line(tmp_path):
    config = village(tmp_path, "my-meter")
    folder = tmp_path / "etc" / PROFILES_DIR
    folder.mkdir()
    (folder / "my-meter.toml").write_bytes(MY_METER.replace("Vendor X single", "Vendor \xe9 single").encode("latin-1"))
    (problem,) = problems(config)
    assert problem.startswith(f"{folder / 'my-meter.toml'}:2: description: not UTF-8 text: byte 0xe9")


@pytest.mark.parametrize(
    ("profile", "files", "file"),
    [
        ("sdm120", {"profiles/sdm120.toml": MY_METER.replace("my-meter", "sdm120")}, "profiles/sdm120.toml"),
        ("./sdm630-ct.toml", {"sdm630-ct.toml": MY_METER.replace('"my-meter"', '"sdm630"')}, "sdm630-ct.toml"),
        ("./sdm630.toml", {"sdm630.toml": MY_METER.replace('"my-meter"', '"sdm630"')}, "sdm630.toml"),
    ],
)
def test_a_profile_of_ones_own_never_shadows_a_shipped_one(tmp_path, profile, files, file):
    # a copy of a shipped map, adapted (current transformers) but not renamed: refused, at its name
    config = village(tmp_path, profile, files=files)
    (problem,) = problems(config)
    name = "sdm120" if "sdm120" in profile else "sdm630"
    assert problem == (
        f"{tmp_path / 'etc' / file}:1: name: {name!r} is the name of a shipped profile: a profile of your own "
        f"needs a name of its own (rename the file and its name, e.g. '{name}-local')"
    )


def test_a_bad_profile_used_by_several_meters_is_reported_once(tmp_path):
    config = village(tmp_path, "my-meter", files={"profiles/my-meter.toml": MY_METER.replace('unit = "W"', 'unit = "V"')})
    text = config.read_text(encoding="utf-8")
    second = text[text.index("[[buses") :].replace('"ecole-general"', '"ecole-cuisine"').replace("unit = 1", "unit = 2")
    config.write_text(text + second, encoding="utf-8")
    assert problems(config) == [
        f"{tmp_path / 'etc' / 'profiles' / 'my-meter.toml'}:11: fields.power_w.unit: 'V' cannot give power_w (use W, kW)"
    ]


def test_problems_in_the_configuration_come_first_then_the_profiles(tmp_path):
    config = village(tmp_path, "my-meter", files={"profiles/my-meter.toml": MY_METER.replace('unit = "W"', 'unit = "V"')})
    config.write_text(config.read_text(encoding="utf-8").replace('building = "ecole"', 'building = "mairie"'))
    found = problems(config)
    assert [p.split(":")[0] for p in found] == [str(config), str(tmp_path / "etc" / "profiles" / "my-meter.toml")]


def test_a_configurable_counter_of_ones_own_takes_quantity_and_scale(tmp_path):
    counter = (
        'name = "compteur-eau"\ndescription = "DIN-rail counter, count at 100"\nsource = "vendor sheet, table 1"\n'
        'numbering = "zero-based"\nconfigurable = true\n[fields.counter]\nregister = 100\ntype = "uint32"\n'
        'unit = "count"\n[bounds]\nwater_m3 = [0, 1e9]\nenergy_kwh = [0, 1e9]\n'
        "[bounds.rise_per_hour]\nwater_m3 = 5\nenergy_kwh = 300\n"
    )
    config = village(tmp_path, "compteur-eau", files={"profiles/compteur-eau.toml": counter})
    config.write_text(config.read_text(encoding="utf-8") + 'quantity = "water_m3"\nscale = 0.001\n')
    device = load_config(config).buses["compteurs"].devices[0]
    (field,) = device.meter_profile.fields
    assert (field.name, field.address) == ("water_m3", 100)
    assert device.meter_profile.bounds.rise_of("water_m3") == 5
    config.write_text(config.read_text(encoding="utf-8").replace("scale = 0.001", "scale = 1e300"))
    (problem,) = problems(config)
    assert "buses.compteurs.devices[0].scale: compteur-eau: 'scale' = 1e+300 water_m3 per count is implausible" in problem


# ---- what runs is what was checked ----------------------------------------------------------------
def test_an_edited_profile_file_makes_a_changed_configuration(tmp_path):
    """A reload compares configurations: editing only the profile file must count as a change."""
    config = village(tmp_path, "my-meter", files={"profiles/my-meter.toml": MY_METER})
    first = load_config(config)
    assert load_config(config) == first  # nothing edited: the same
    (tmp_path / "etc" / "profiles" / "my-meter.toml").write_text(MY_METER.replace("register = 72", "register = 74"))
    second = load_config(config)
    assert second != first
    assert second.buses["compteurs"].devices[0].meter_profile.fields[1].address == 74


def test_a_broken_shipped_profile_is_located_the_same_way(monkeypatch):
    """The shipped files are checked by the tests; were one broken, its error would read the same."""
    import drivers.modbus_profile as module
    import gateway.meter_profiles as lookup

    broken = module.shipped_profile_text("sdm120").replace('unit = "Hz"', 'unit = "kHz"')
    monkeypatch.setattr(module, "shipped_profile_text", lambda name: broken)
    monkeypatch.setattr(lookup, "shipped_profile_text", lambda name: broken)
    module.load_profile.cache_clear()
    try:
        with pytest.raises(ProfileError) as err:
            load_meter_profile("sdm120", base_dir=None)
    finally:
        module.load_profile.cache_clear()
    line = broken[: broken.index('unit = "kHz"')].count("\n") + 1
    assert str(err.value) == (
        f"drivers/profiles/sdm120.toml:{line}: fields.frequency_hz.unit: 'kHz' cannot give frequency_hz (use Hz)"
    )
