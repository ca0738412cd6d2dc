"""The BLE subsystem: configured sensors -> scanner (radio or simulation) -> readings in the core.

Rules of this module:
- one service, ``ble``, a producer; it exists when ``[ble]`` is enabled and lists sensors;
- readings: numeric quantities go to measurement ``climate`` (``temperature_c``, ``humidity_pct``,
  ``battery_pct``, ``battery_v``, ``rssi_dbm``...), binary states to ``input`` (``window_open``,
  ``motion``), tagged ``core.tags(device=sensor id, building, zone)``;
- a sensor silent past its ``stale_after_s`` raises ``sensor_stale`` (warning) and is marked
  unavailable in the state (the rules also see the age of its samples); it raises
  ``sensor_recovered`` when it speaks again;
- the radio: ``Hooks.ble_radio_factory`` (tests), the simulated sensors of
  :mod:`drivers.sim.ble_adverts` in the demo, otherwise bleak on ``[ble].adapter``. The demo's
  thermal model provides ``zone_temperature``, a ``(building, zone) -> float | None`` callable,
  for the simulated sensors to report; a sensor id added to ``silenced`` (a set shared with the
  plant) stops advertising (dead battery).
"""

from __future__ import annotations

import logging

from drivers.ble import AdvertListener, BleScanner, BleSensor, RadioFactory, SensorUpdate, bleak_radio_factory
from drivers.sim.ble_adverts import SimSensor, SimulatedRadio
from gateway.config import GatewayConfig
from gateway.core import Core
from gateway.hooks import Hooks, ZoneTemperature
from gateway.model import Event, Reading, Unavailable
from gateway.schema.ble import BindKeyError, BleSensorConfig
from gateway.service import Service, StopPhase

log = logging.getLogger("gateway.ble")


class BleService:
    """Passive scanner feeding the core."""

    name = "ble"
    stop_phase = StopPhase.PRODUCER

    def __init__(
        self,
        config: GatewayConfig,
        core: Core,
        radio_factory: RadioFactory,
        fallback_factory: RadioFactory | None = None,
    ) -> None:
        self._core = core
        self._configs = {s.id: s for s in config.ble.sensors if s.enabled}
        self.listener = AdvertListener(
            sensors=[_sensor(s) for s in self._configs.values()],
            on_update=self._publish,
            metrics=core.metrics,
            clock=core.clock,
            heartbeat_s=config.ble.heartbeat_s,
        )
        self.scanner = BleScanner(
            listener=self.listener,
            radio_factory=radio_factory,
            fallback_factory=fallback_factory,
            metrics=core.metrics,
            clock=core.clock,
            watchdog_s=config.ble.watchdog_min * 60,
            on_stale=self._stale,
        )
        core.metrics.describe_all(METRICS)

    def prepare(self) -> None:
        """Nothing to do before the tasks start."""

    async def run(self) -> None:
        """Scan until cancelled."""
        await self.scanner.run()

    def _publish(self, update: SensorUpdate) -> None:
        cfg = self._configs[update.sensor.id]
        tags = self._core.tags(device=cfg.id, building=cfg.building, zone=cfg.zone)
        decoded = update.decoded
        try:
            if decoded.climate:
                fields: dict[str, float | int | bool | str | None] = {
                    **decoded.climate,
                    "rssi_dbm": decoded.rssi_dbm,
                }
                self._core.publish(Reading.make("climate", tags, fields, time_ns=update.time_ns))
            if decoded.binary:
                self._core.publish(Reading.make("input", tags, dict(decoded.binary), time_ns=update.time_ns))
        except ValueError as exc:  # clock not set: a reading we cannot date is not a reading
            self._core.metrics.inc("gateway_ble_rejected_total", reason="bad_time")
            log.debug("%s: reading dropped: %s", cfg.id, exc)

    def _stale(self, sensor: BleSensor, stale: bool, silent_s: float) -> None:
        cfg = self._configs[sensor.id]
        now = self._core.clock.time_ns()
        where = f"{cfg.building}/{cfg.zone}" if cfg.zone else cfg.building
        if stale:
            since = now - int(silent_s * 1e9)
            self._core.unavailable(Unavailable(cfg.id, since, f"BLE sensor silent for {silent_s:.0f} s"))
            self._core.raise_event(
                Event(
                    "sensor_stale",
                    cfg.id,
                    f"{cfg.id} ({where}) silent for {silent_s / 60:.0f} min",
                    now,
                    "warning",
                    (("silent_s", round(silent_s)),),
                )
            )
        else:
            self._core.raise_event(Event("sensor_recovered", cfg.id, f"{cfg.id} ({where}) reports again", now))


def _sensor(cfg: BleSensorConfig) -> BleSensor:
    try:
        key = cfg.key()
    except BindKeyError as exc:  # checked at load; the file changed since
        log.error("%s: %s; its encrypted adverts will be rejected", cfg.id, exc)
        key = None
    return BleSensor(cfg.id, cfg.address, cfg.format, key, cfg.stale_after_s)


#: name -> (kind, help) of the metrics this module counts
METRICS = {
    "gateway_ble_adverts_total": ("counter", "BLE advertisements heard (any device)"),
    "gateway_ble_readings_total": ("counter", "readings published per BLE sensor"),
    "gateway_ble_coalesced_total": ("counter", "repeated adverts folded into the previous reading"),
    "gateway_ble_rejected_total": ("counter", "adverts of configured sensors rejected, by reason"),
    "gateway_ble_scanner_restarts_total": ("counter", "scanner restarts by the watchdog"),
    "gateway_ble_adapter_up": ("gauge", "1 while the Bluetooth adapter is scanning"),
    "gateway_ble_sensor_stale": ("gauge", "1 while a BLE sensor is silent past stale_after_s"),
    "gateway_ble_sensor_age_seconds": ("gauge", "seconds since a BLE sensor's last new measurement"),
}




def _sim_factory(
    config: GatewayConfig, *, zone_temperature: ZoneTemperature | None, interval_s: float, silenced: set[str]
) -> RadioFactory:
    sensors = []
    for s in config.ble.sensors:
        if not s.enabled:
            continue
        try:
            key = s.key()
        except BindKeyError:
            key = None
        fmt = s.format or "bthome"
        sensors.append(
            SimSensor(s.id, s.address, fmt, s.building, s.zone, key if fmt in ("bthome", "mibeacon") else None)
        )

    def temperature_of(sensor: SimSensor) -> float | None:
        if zone_temperature is None:
            return None
        value = zone_temperature(sensor.building, sensor.zone)
        return float(value) if value is not None else None

    return lambda callback: SimulatedRadio(
        callback, sensors=sensors, temperature_of=temperature_of, interval_s=interval_s, silenced=silenced
    )


def build(
    config: GatewayConfig,
    core: Core,
    *,
    hooks: Hooks,
    demo: bool = False,
    zone_temperature: ZoneTemperature | None = None,
    silenced: set[str] | None = None,
) -> list[Service]:
    """The BLE service, or nothing when no sensor is configured."""
    if not config.ble.listening():
        return []
    fallback = None
    if hooks.ble_radio_factory is not None:
        factory = hooks.ble_radio_factory
    elif demo:
        factory = _sim_factory(
            config,
            zone_temperature=hooks.sim_zone_temperature or zone_temperature,
            interval_s=hooks.sim_ble_interval_s,
            silenced=silenced if silenced is not None else set(),
        )
    else:
        passive = config.ble.scanning_mode == "passive"
        factory = bleak_radio_factory(adapter=config.ble.adapter, passive=passive)
        if passive:
            fallback = bleak_radio_factory(adapter=config.ble.adapter, passive=False)
    return [BleService(config, core, factory, fallback)]
