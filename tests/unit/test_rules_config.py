"""The rules' configuration: validated at load time, errors name the path."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import load_config, parse_config
from gateway.errors import ConfigError
from rules.config import HeatingConfig, Setpoints, Window, site_from_config

VILLAGE = Path(__file__).resolve().parents[2] / "examples" / "village.toml"


def test_the_example_village_gives_a_site_with_four_heated_zones() -> None:
    site = site_from_config(load_config(VILLAGE))
    assert [z.key for z in site.zones] == ["mairie/bureaux", "ecole/classes", "salle/grande_salle", "eglise/nef"]
    assert site.zone("salle/grande_salle").title == "Salle des fêtes – Grande salle"  # type: ignore[union-attr]
    assert site.outputs()["ecole-fp-minus"] == "zone:ecole/classes"
    assert site.outputs()["salle-parvis"] == "light:salle-parvis"
    school = site.zone("ecole/classes")
    assert school is not None
    assert school.heating.exceptions[0].name == "Vacances de Noël"


def test_a_relay_driven_twice_is_refused_with_its_path() -> None:
    text = VILLAGE.read_text(encoding="utf-8").replace('relay = "salle-chauffage"', 'relay = "mairie-chauffage"')
    with pytest.raises(ConfigError) as err:
        parse_config(text, file="v.toml", base_dir=VILLAGE.parent)
    assert any(
        p.path == "buildings.salle.zones.grande_salle.heating.relay" and "already driven" in p.reason
        for p in err.value.problems
    )


def test_lighting_occupancy_must_name_a_heated_zone() -> None:
    text = VILLAGE.read_text(encoding="utf-8").replace(
        'occupancy = ["salle/grande_salle"]', 'occupancy = ["salle/cuisine"]'
    )
    with pytest.raises(ConfigError, match=r"lighting\.circuits\.salle-parvis\.occupancy\[0\]"):
        parse_config(text, file="v.toml", base_dir=VILLAGE.parent)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"relay": "a", "pilot_wire": {"plus": "b", "minus": "c"}, "sensors": ["t"]}, "exactly one output"),
        ({"relay": "a"}, "needs a temperature sensor"),
        ({"pilot_wire": {"plus": "b", "minus": "b"}}, "two different relays"),
        ({"relay": "a", "sensors": ["t"], "setpoints": {"confort": 15, "reduit": 16}}, "confort >= reduit"),
        ({"relay": "a", "sensors": ["t"], "failsafe": {"duty_on_min": 30, "duty_period_min": 20}}, "duty_on_min"),
        ({"relay": "a", "sensors": ["t"], "colour": "blue"}, "Extra inputs"),
        (
            {"relay": "a", "sensors": ["t"], "exceptions": [{"name": "x", "start": "2026-02-10", "end": "2026-02-01"}]},
            "ends",
        ),
    ],
)
def test_bad_heating_configuration_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HeatingConfig.model_validate(changes)


def test_toml_local_times_and_windows() -> None:
    from datetime import time

    w = Window.model_validate({"start": time(23, 0), "end": "05:00"})
    assert w.contains(23 * 60)
    assert w.contains(4 * 60 + 59)
    assert not w.contains(5 * 60)
    assert not w.contains(12 * 60)
    assert Setpoints().of("arret") is None
    assert Setpoints().of("reduit") == 16.0


@pytest.mark.parametrize(("dusk_input", "ok"), [("salle-fenetre", True), ("salle-presence", False), ("nowhere", False)])
def test_a_circuits_dusk_input_must_be_a_gpio_contact(dusk_input: str, ok: bool) -> None:
    text = VILLAGE.read_text(encoding="utf-8").replace(
        'relay = "mairie-facade"\n', f'relay = "mairie-facade"\ndusk_input = "{dusk_input}"\n'
    )
    if ok:
        config = parse_config(text, file="v.toml", base_dir=VILLAGE.parent)
        assert config.lighting.circuits["mairie-facade"].dusk_input == dusk_input
        return
    with pytest.raises(ConfigError, match=r"lighting\.circuits\.mairie-facade\.dusk_input"):
        parse_config(text, file="v.toml", base_dir=VILLAGE.parent)


def test_the_clock_safe_modes_come_from_the_service_section() -> None:
    site = site_from_config(load_config(VILLAGE))
    assert (site.clock_safe_heating, site.clock_safe_lighting) == ("reduit", "sensor")  # as the example says
    text = (
        VILLAGE.read_text(encoding="utf-8")
        .replace('safe_heating = "eco"', 'safe_heating = "hors-gel"')
        .replace('safe_lighting = "sensor"', 'safe_lighting = "off"')
    )
    site = site_from_config(parse_config(text, file="v.toml", base_dir=VILLAGE.parent))
    assert (site.clock_safe_heating, site.clock_safe_lighting) == ("hors_gel", "off")
