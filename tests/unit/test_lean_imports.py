"""A village that only meters its buildings does not carry what it does not use (issue 11, RSS ≤ 50 MB).

Given the W1 workload of ``bench/sd_wear.py`` (10 SDM630 on a Modbus TCP bus, one InfluxDB v1 sink,
BLE off, no heated zone, no lighting circuit, no GPIO), when ``village-gateway run`` starts in a fresh
interpreter and runs for a few seconds, then none of these modules was ever imported: the rules
engine and the control loop (:mod:`gateway.control.watch` stands in), the astronomical clock
(astral), the simulated hardware and building models (``drivers.sim``, once imported by the
configuration schema), the BLE driver, the other commands' modules. Each costs RSS on a Pi
(docs/performance.md, "Third pass"). The example village, which has zones, still builds the loop.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.control.watch import rules_have_work
from tests.support import workloads
from tests.support.procs import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "village.toml"

#: module (or package: its submodules too) -> why a meter-only village must not import it
UNUSED = {
    "rules.engine": "the rules engine (no zone, circuit, leak watch or GPIO)",
    "rules.heating": "the thermostat",
    "rules.lighting": "the lighting rules",
    "astral": "the astronomical clock",
    "gateway.control.loop": "the control loop",
    "gateway.control.status": "the decisions' view",
    "gateway.plant": "the demo's simulated rooms",
    "drivers.sim": "the simulated hardware and building models",
    "drivers.ble": "the BLE driver (BLE off)",
    "gateway.services.ble": "the BLE service (BLE off)",
    "gateway.commands.demo": "another command",
    "gateway.commands.simulate": "another command",
    "gateway.commands.report": "another command",
}


#: runs the real command line in a fresh interpreter, stops it after a few seconds, prints its modules
PROBE = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time
    from gateway.cli import main

    threading.Thread(target=lambda: (time.sleep(4), os.kill(os.getpid(), signal.SIGTERM)), daemon=True).start()
    code = main(["run", "--config", sys.argv[1]])
    print("MODULES " + json.dumps(sorted(sys.modules)))
    sys.exit(code)
    """
)


def _imported(names: list[str], module: str) -> bool:
    return any(n == module or n.startswith(module + ".") for n in names)


@pytest.fixture
def w1_config(tmp_path: Path) -> Path:
    path = tmp_path / "w1.toml"
    dead_port = free_port()
    text = workloads.w1_config(
        influx_port=dead_port, web_port=free_port(), state_dir=tmp_path / "state", modbus_port=dead_port
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_a_meter_only_village_gives_the_rules_nothing_to_do_and_the_example_does(w1_config):
    assert rules_have_work(load_config(w1_config)) is False
    assert rules_have_work(load_config(EXAMPLE)) is True


def test_the_daemon_of_a_meter_only_village_never_imports_rules_astral_or_the_simulator(w1_config):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(w1_config)], cwd=ROOT, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    modules = json.loads(line.removeprefix("MODULES "))
    # the daemon ran: the control watch, the Modbus bus, the sink and the admin page's front were built
    for needed in ("gateway.control.watch", "drivers.modbus_bus", "gateway.sinks.influx_http", "gateway.web.front"):
        assert needed in modules, needed
    loaded = {m: why for m, why in UNUSED.items() if _imported(modules, m)}
    assert loaded == {}
