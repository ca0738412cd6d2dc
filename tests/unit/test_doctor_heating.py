"""``village-gateway doctor`` on a heated zone whose fail-safe risks frost or is blind to the weather (issue 10).

No server is needed: the configuration has no sink and no bus; the machine is the prepared tree of
tests/unit/test_doctor.py (a GPIO chip node, a Bluetooth adapter, a synchronised clock).
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.doctor import diagnose
from gateway.doctor_finding import Finding, exit_code
from gateway.doctor_heating import check_heating
from tests.support.village import relay, zone
from tests.unit.test_doctor import DOCTOR_SITE, ServiceUser, fake_machine, write_service_config


@pytest.fixture
def service_user() -> ServiceUser:
    entry = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid, grp.getgrgid(entry.pw_gid).gr_name)


def _config(tmp: Path, user: ServiceUser, heating: str) -> Path:
    cuisine = zone("mairie", "cuisine", "Cuisine", relay="chauffage", sensors="t-cuisine")
    return write_service_config(tmp, user, DOCTOR_SITE + cuisine + f"{heating}\n" + relay("chauffage", 17) + "\n")


def _heating(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.what == "heating"]


def test_a_kitchen_left_unheated_on_a_dead_thermometer_is_a_warning(tmp_path: Path, service_user: ServiceUser) -> None:
    config = _config(tmp_path, service_user, 'outdoor_sensor = "exterieur"\nfailsafe = { mode = "off" }')
    findings = diagnose(config, probes=fake_machine(tmp_path / "machine", service_user))
    (warning,) = _heating(findings)
    assert warning.level == "WARN"
    assert f"{config}:15: buildings.mairie.zones.cuisine.heating.failsafe.mode: frost risk" in warning.message
    assert exit_code(findings) == 1, "\n".join(map(str, findings))  # working, with warnings


def test_a_fail_safe_without_outdoor_temperature_is_a_warning(tmp_path: Path, service_user: ServiceUser) -> None:
    config = _config(tmp_path, service_user, "")
    (warning,) = check_heating(parse_config(config.read_text()), config)
    assert warning.level == "WARN"
    assert "heating.outdoor_sensor: no outdoor temperature" in warning.message
    assert "-10 °C night" in warning.message


def test_a_sound_fail_safe_is_ok(tmp_path: Path, service_user: ServiceUser) -> None:
    config = _config(tmp_path, service_user, 'outdoor_sensor = "exterieur"')
    (finding,) = check_heating(parse_config(config.read_text()), config)
    assert str(finding) == "OK   heating: 1 heated zones, no fail-safe warning"
