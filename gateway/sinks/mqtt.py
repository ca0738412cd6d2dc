"""The MQTT sink: latest state (retained), events, availability, commands, HA discovery.

Rules of this module:
- it drains the journal from its own cursor (sink name = its key in ``[sinks]``), so polling
  and rules never wait for the broker: while the broker is away the cursor lags, and when it
  is back the backlog is delivered; within a fetched batch state is coalesced to the latest
  value per topic (a day offline is one message per topic, not a day of messages); events are
  all delivered, in order;
- the cursor moves only after the broker acknowledged every message of the batch (QoS >= 1):
  delivery is at least once; state is retained and idempotent, an event may repeat after a
  connection loss mid-batch;
- availability: ``<prefix>/<site>/status`` is ``online`` (retained) while connected; the broker
  publishes ``offline`` (the last will) if the gateway vanishes; a clean stop publishes it too;
- reconnects back off exponentially with jitter up to ``max_backoff_s``; logged once when
  the broker goes away and once when it is back; a connection lost as the daemon stops leaves
  nothing for asyncio to complain about at exit (:func:`_collect_disconnect_error`);
- commands (``.../override/set``) are control's second face (:mod:`gateway.control.mqtt_commands`,
  handed in by the builder as a :class:`CommandFace`): the sink subscribes and serves them on its
  connection and knows nothing of control; without one, commands are not subscribed;
- Home Assistant discovery announces the subjects the builder hands in (every zone's temperature,
  every meter's quantities from its register map): the sink only carries data, it reads no
  register map itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gateway import lineproto
from gateway.schema.mqtt import MqttSinkConfig
from gateway.service import StopPhase
from gateway.sinks.influx_http import read_secret
from gateway.sinks.mqtt_topics import StateMessage, Topics

if TYPE_CHECKING:
    import aiomqtt

    from gateway.core import Core

log = logging.getLogger("gateway.sinks.mqtt")

#: The last chance to deliver and say "offline" at shutdown.
_FINAL_FLUSH_S = 3.0
_MAX_FETCH_BYTES = 2_000_000
#: Publishes awaited together while draining (aiomqtt warns above 10 pending calls).
_PUBLISH_WINDOW = 10


#: A subject Home Assistant discovery announces: (building, zone or device, quantity).
Subject = tuple[str, str, str]


class CommandOutcome(Protocol):
    """What a handled command came to (``"applied"``, ``"rejected"``, ``"rate_limited"``)."""

    @property
    def result(self) -> str: ...


class CommandFace(Protocol):
    """The commands a sink serves on its connection (:class:`gateway.control.mqtt_commands.CommandHandler`)."""

    async def subscribe(self, client: aiomqtt.Client) -> None: ...

    async def serve(self, client: aiomqtt.Client) -> None: ...

    def handle(self, topic: str, body: bytes, *, retained: bool = False) -> CommandOutcome: ...


class MqttSink:
    """One broker; a service of the daemon (stop phase ``CONSUMER``).

    Example::

        sink = MqttSink("mqtt", config.sinks["mqtt"], core=core, journal=journal, commands=handler,
                        discovery=[("salle", "grande_salle", "temperature_c")])
        await sink.run()
    """

    stop_phase = StopPhase.CONSUMER

    def __init__(
        self,
        sink: str,
        config: MqttSinkConfig,
        *,
        core: Core,
        journal: Any,
        commands: CommandFace | None = None,
        discovery: Sequence[Subject] = (),
    ) -> None:
        self.name = f"sink:{sink}"
        self.sink = sink
        self.config = config
        self._core = core
        self._journal = journal
        self._discovery = tuple(discovery)
        self.topics = Topics(config.topic_prefix, core.config.site.id)
        self._names = _display_names(core.config)
        self._announced: set[str] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connected = False
        self.connected_once = False  # since the last disconnect: resets the backoff
        self._down_logged = False
        self._commands = commands
        core.metrics.describe_all(METRICS)

    def prepare(self) -> None:
        """Wake the drain loop after each group commit."""
        self._journal.add_commit_listener(self._committed)

    def _committed(self, _last_id: int) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Connect, serve, reconnect with capped backoff; until cancelled."""
        import aiomqtt

        self._loop = asyncio.get_running_loop()
        delay = 1.0
        try:
            while True:
                try:
                    await self._session()
                except aiomqtt.MqttError as exc:
                    self._went_down(str(exc))
                except OSError as exc:  # password or CA file unreadable, bad certificate file
                    self._went_down(f"{type(exc).__name__}: {exc}")
                except Exception as exc:  # a bug or a journal failure: never end the daemon for MQTT
                    if not self._down_logged:
                        log.exception("MQTT sink %s failed; retrying", self.sink)
                    self._went_down(f"{type(exc).__name__}: {exc}")
                else:  # the session ended without an error: treat like a disconnect
                    self._went_down("connection closed")
                if self.connected_once:
                    delay = 1.0
                    self.connected_once = False
                await asyncio.sleep(random.uniform(0.5, 1.0) * delay)  # noqa: S311 - jitter
                delay = min(delay * 2, self.config.max_backoff_s)
        finally:
            self.connected = False
            self._core.metrics.set("gateway_mqtt_connected", 0.0, sink=self.sink)

    def _client(self) -> aiomqtt.Client:
        import aiomqtt

        password = None
        if self.config.password_file is not None:
            password = read_secret(self.config.password_file, "MQTT password")
        tls = None
        if self.config.tls:
            tls = ssl.create_default_context(cafile=str(self.config.ca_file) if self.config.ca_file else None)
        return aiomqtt.Client(
            self.config.host,
            self.config.port,
            username=self.config.username,
            password=password,
            identifier=self.config.client_id or f"village-gateway-{self.topics.site}",
            will=aiomqtt.Will(self.topics.status, "offline", qos=1, retain=True),
            protocol=aiomqtt.ProtocolVersion.V5,  # commands: "retain as published" (mosquitto >= 1.6)
            keepalive=self.config.keepalive_s,
            tls_context=tls,
            timeout=10,
            logger=logging.getLogger("gateway.sinks.mqtt.client"),
        )

    async def _session(self) -> None:
        client = self._client()
        try:
            await self._serve(client)
        finally:
            _collect_disconnect_error(client)

    async def _serve(self, client: aiomqtt.Client) -> None:
        async with client:
            self._came_up()
            self._announced.clear()
            await client.publish(self.topics.status, "online", qos=1, retain=True)
            if self.config.homeassistant_discovery:
                await self._announce_configured(client)
            tasks = [asyncio.create_task(self._drain_loop(client), name=f"{self.name}-drain")]
            if self.config.commands and self._commands is not None:
                await self._commands.subscribe(client)
                tasks.append(asyncio.create_task(self._commands.serve(client), name=f"{self.name}-commands"))
            try:
                await _first_failure(tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    async with asyncio.timeout(_FINAL_FLUSH_S):
                        await self.drain_once(client)
                        await client.publish(self.topics.status, "offline", qos=1, retain=True)
                raise

    # ---- state and events ----------------------------------------------------------------------
    async def _drain_loop(self, client: aiomqtt.Client) -> None:
        while True:
            if await self.drain_once(client):
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()

    async def drain_once(self, client: aiomqtt.Client) -> bool:
        """Publish one batch of the backlog, coalesced; ``True`` when caught up."""
        rows = await self._journal.fetch(self.sink, limit=self.config.batch_size, max_bytes=_MAX_FETCH_BYTES)
        if not rows:
            self._core.metrics.set("gateway_sink_backlog_points", 0.0, sink=self.sink)
            return True
        latest: dict[str, StateMessage] = {}
        events: list[str] = []
        for row in rows:
            try:
                reading = lineproto.decode(row.line)
            except ValueError:
                self._core.metrics.inc("gateway_mqtt_skipped_total", sink=self.sink, reason="bad_line")
                continue
            event = self.topics.event_payload(reading)
            if event is not None:
                events.append(event)
                continue
            for msg in self.topics.state_messages(reading):
                latest.pop(msg.topic, None)  # keep the newest, in the order of the newest
                latest[msg.topic] = msg
        qos = self.config.qos
        outgoing: list[tuple[str, str, int, bool]] = []
        for msg in latest.values():
            if self.config.homeassistant_discovery and msg.topic not in self._announced:
                topic, payload = self.topics.discovery(self.config.homeassistant_prefix, msg, names=self._names)
                outgoing.append((topic, payload, 1, True))
            outgoing.append((msg.topic, msg.payload, qos, True))
        outgoing.extend((self.topics.events, event, qos, False) for event in events)
        # Pipelined: paho sends in call order (events stay in order); we await the acknowledgements
        # together, a window at a time, instead of one round trip per message.
        for start in range(0, len(outgoing), _PUBLISH_WINDOW):
            window = outgoing[start : start + _PUBLISH_WINDOW]
            await asyncio.gather(*(client.publish(t, p, qos=q, retain=r) for t, p, q, r in window))
        self._announced.update(msg.topic for msg in latest.values())
        await self._journal.advance(self.sink, rows[-1].id)
        metrics = self._core.metrics
        metrics.inc("gateway_mqtt_messages_total", len(latest), sink=self.sink, kind="state")
        metrics.inc("gateway_mqtt_messages_total", len(events), sink=self.sink, kind="event")
        metrics.inc("gateway_mqtt_rows_total", len(rows), sink=self.sink)
        return len(rows) < self.config.batch_size

    async def _announce_configured(self, client: aiomqtt.Client) -> None:
        """Every subject the builder handed in (zones' temperatures, meters' quantities), before any
        reading arrives: Home Assistant sees the whole village as soon as the gateway connects."""
        for building_id, segment, quantity in self._discovery:
            msg = StateMessage(
                self.topics.state(building_id, segment, quantity), "", building_id, segment, quantity, False
            )
            topic, payload = self.topics.discovery(self.config.homeassistant_prefix, msg, names=self._names)
            await client.publish(topic, payload, qos=1, retain=True)
            self._announced.add(msg.topic)

    # ---- commands ------------------------------------------------------------------------------
    def handle_command(self, topic: str, body: bytes, *, retained: bool = False) -> bool:
        """Apply one command through the command face (``False`` without one); never raises."""
        if self._commands is None:
            return False
        return self._commands.handle(topic, body, retained=retained).result == "applied"

    # ---- health --------------------------------------------------------------------------------
    def _came_up(self) -> None:
        self.connected = self.connected_once = True
        self._core.metrics.set("gateway_mqtt_connected", 1.0, sink=self.sink)
        if self._down_logged:
            log.info("MQTT broker %s:%d is back; draining the backlog", self.config.host, self.config.port)
            self._down_logged = False
        else:
            log.info("MQTT connected to %s:%d", self.config.host, self.config.port)

    def _went_down(self, reason: str) -> None:
        self.connected = False
        self._core.metrics.set("gateway_mqtt_connected", 0.0, sink=self.sink)
        self._core.metrics.inc("gateway_mqtt_disconnects_total", sink=self.sink)
        if not self._down_logged:
            log.warning(
                "MQTT broker %s:%d unavailable (%s); readings wait in the journal",
                self.config.host,
                self.config.port,
                reason,
            )
            self._down_logged = True


def _collect_disconnect_error(client: Any) -> None:
    """Mark a lost connection's error as seen once the session is over.

    aiomqtt 2.x records an unexpected disconnection on a future that only ``client.messages`` and a
    failing ``publish`` read; when the session ends another way (cancelled at shutdown while its final
    flush waited for an acknowledgement), ``Client.__aexit__`` returns early without reading it and
    asyncio prints "Future exception was never retrieved ... MqttCodeError" when the future is
    collected — at exit. The loss is ours to report (:meth:`MqttSink._went_down`, once), so read it.
    """
    future = getattr(client, "_disconnected", None)
    if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
        future.exception()


async def _first_failure(tasks: list[asyncio.Task[None]]) -> None:
    """Wait until one task ends; cancel the others; re-raise its exception."""
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if exc is not None:
            raise exc


def _display_names(config: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for building_id, building in config.buildings.items():
        names[building_id] = building.name
        for zone_id, zone in building.zones.items():
            names[f"{building_id}/{zone_id}"] = zone.name
    return names


#: name -> (kind, help) of the metrics this module counts
METRICS = {
    "gateway_mqtt_connected": ("gauge", "1 while connected to the MQTT broker"),
    "gateway_mqtt_disconnects_total": ("counter", "MQTT connection losses and failed attempts"),
    "gateway_mqtt_messages_total": ("counter", "MQTT messages published, by kind"),
    "gateway_mqtt_rows_total": ("counter", "journal rows drained by the MQTT sink"),
    "gateway_mqtt_commands_total": ("counter", "MQTT commands received, by result"),
}
