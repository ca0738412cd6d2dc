"""``[simulation]`` configuration: archetypes or the one-node shorthand, every error located FILE:LINE: path."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
VILLAGE = ROOT / "examples" / "village.toml"
MAIRIE = '[simulation.zones."mairie/bureaux"]\narchetype = "mairie-pierre"\nfloor_area_m2 = 120\n'


def _village_with(old: str, new: str) -> str:
    """The example village with ``old`` replaced; ``old == MAIRIE`` replaces the mairie's whole zone table."""
    text = VILLAGE.read_text(encoding="utf-8")
    if old == MAIRIE:
        start = text.index('[simulation.zones."mairie/bureaux"]')
        end = text.index("[simulation.zones.", start + 1)
        return text[:start] + new + text[end:]
    assert old in text
    return text.replace(old, new, 1)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, file="village.toml", base_dir=VILLAGE.parent)
    return [str(p) for p in caught.value.problems]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(needle))


def test_the_example_village_uses_archetypes_and_the_shorthand_still_loads() -> None:
    config = parse_config(VILLAGE.read_text(encoding="utf-8"), base_dir=VILLAGE.parent)
    mairie = config.simulation.zones["mairie/bureaux"]
    assert mairie.archetype == "mairie-pierre"
    params = mairie.params()
    assert params.heater_kw > 0
    assert 20 < params.time_constant_h < 60
    shorthand = _village_with(
        MAIRIE, '[simulation.zones."mairie/bureaux"]\nheat_capacity_kwh_per_k = 1.5\nloss_kw_per_k = 0.15\nheater_kw = 8.0\n'
    )
    old = parse_config(shorthand, base_dir=VILLAGE.parent).simulation.zones["mairie/bureaux"].params()
    assert old.one_node
    assert old.time_constant_h == pytest.approx(10.0)
    assert old.heater_kw == 8.0


def test_mixing_an_archetype_with_the_shorthand_is_a_located_error() -> None:
    text = _village_with(MAIRIE, MAIRIE + "loss_kw_per_k = 0.3\n")
    (problem,) = _problems(text)
    line = _line_of(text, '[simulation.zones."mairie/bureaux"]')
    assert problem.startswith(f'village.toml:{line}: simulation.zones."mairie/bureaux": ')
    assert "cannot be mixed" in problem


@pytest.mark.parametrize(
    ("extra", "path", "reason"),
    [
        ('archetype = "chateau"\nfloor_area_m2 = 100\n', "archetype", "unknown archetype 'chateau'"),
        ('archetype = "mairie-pierre"\nfloor_area_m2 = 100\ninfiltration_ach = 9\n', "infiltration_ach", "less than"),
        ('archetype = "mairie-pierre"\nfloor_area_m2 = 100\nemitter = "stove"\n', "emitter", "convector"),
        ('archetype = "mairie-pierre"\nfloor_area_m2 = 100\nglazing_south = 0.9\n', "", "sum to 1"),
    ],
)
def test_a_bad_archetype_or_override_is_located(extra: str, path: str, reason: str) -> None:
    text = _village_with(MAIRIE, '[simulation.zones."mairie/bureaux"]\n' + extra)
    (problem,) = _problems(text)
    field = 'simulation.zones."mairie/bureaux"' + ('.' + path if path else '')
    needle = path + " =" if path else '[simulation.zones."mairie/bureaux"]'
    assert problem.startswith(f"village.toml:{_line_of(text, needle)}: {field}: "), problem
    assert reason in problem


def test_shorthand_and_archetype_forms_are_each_complete() -> None:
    (missing,) = _problems(_village_with(MAIRIE, '[simulation.zones."mairie/bureaux"]\nloss_kw_per_k = 0.3\n'))
    assert "the one-node shorthand needs heat_capacity_kwh_per_k, heater_kw" in missing
    (no_area,) = _problems(_village_with(MAIRIE, '[simulation.zones."mairie/bureaux"]\narchetype = "mairie-pierre"\n'))
    assert "needs floor_area_m2" in no_area
    (override,) = _problems(
        _village_with(
            MAIRIE,
            '[simulation.zones."mairie/bureaux"]\nheat_capacity_kwh_per_k = 1.5\nloss_kw_per_k = 0.15\n'
            "heater_kw = 8.0\ninfiltration_ach = 0.5\n",
        )
    )
    assert "infiltration_ach: only with an archetype" in override


def test_windows_no_shows_and_presets_are_checked() -> None:
    text = _village_with(
        "[[simulation.no_shows]]          # the Friday",
        '[[simulation.windows]]\nzone = "mairie/cave"\nstart = 2026-01-13T10:00:00\nminutes = 5\n\n'
        "[[simulation.no_shows]]          # the Friday",
    )
    problems = _problems(text)
    assert any("simulation.windows[2].zone: no heated zone 'mairie/cave'" in p for p in problems)
    (preset,) = _problems(_village_with('outdoor = { preset = "january"', 'outdoor = { preset = "arctic"'))
    assert "simulation.outdoor.preset" in preset
    config = parse_config(
        _village_with('outdoor = { preset = "january"', 'outdoor = { preset = "cold", mean_c = -1.0'),
        base_dir=VILLAGE.parent,
    )
    figures = config.simulation.outdoor.figures()
    assert (figures.mean_c, figures.daily_swing_c, figures.cloud_cover) == (-1.0, 9.0, 0.4)
