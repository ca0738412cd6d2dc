"""A restart keeps the zone's learned model (issue 10): the fail-safe and optimum start after a restart use
what the zone taught, not the archetype's prior again.

The real daemon on the salle des fêtes of tests/hil/test_failsafe.py (MockFactory pins, the plant's
two-node hall in a cold spell, a manual clock in two-minute steps): two days of its evenings teach the
rules' model, the daemon stops and starts again on the same state directory.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.hil.conftest import Village, running_village
from tests.hil.test_failsafe import COLD_SPELL, START, STEP_S, _config

pytestmark = pytest.mark.hil

HALL = "salle/grande_salle"


def _model(village: Village) -> Any:
    decision = village.service.last_decision
    return next(z for z in decision.zones if z.zone == HALL).model


async def test_a_restart_keeps_the_learned_model(tmp_path: Path) -> None:
    config = _config(COLD_SPELL, tmp_path)
    # Given two days of the hall's thermometer, heater and the outdoor temperature: the model is fitted
    async with running_village(config, START, plant_period_s=STEP_S) as village:
        await village.advance(48 * 60, step_s=STEP_S)
        learned = _model(village)
        assert learned.learned
        assert learned.hours >= 24
        stopped = village.now
    # When the daemon starts again five minutes later on the same state directory
    async with running_village(config, stopped + timedelta(minutes=5), plant_period_s=STEP_S) as village:
        await village.advance(2, step_s=60)
        again = _model(village)
        # Then the model is the learned one, not the archetype's prior
        assert again.learned
        assert (again.tau_h, again.ua_per_kw, again.hours, again.rmse) == (
            learned.tau_h,
            learned.ua_per_kw,
            learned.hours,
            learned.rmse,
        )
        assert again.structure_c == pytest.approx(learned.structure_c, abs=0.5)  # followed on, not reset
        # And a thermometer that dies now is stood in for by that model
        village.plant.silence("salle-thermo")
        await village.advance(20, step_s=STEP_S)
        zone = next(z for z in village.service.last_decision.zones if z.zone == HALL)
        assert zone.reason.code.startswith("heat_failsafe_model")
        assert zone.model is not None
        assert zone.model.estimated_c is not None
        assert zone.model.tau_h == learned.tau_h
