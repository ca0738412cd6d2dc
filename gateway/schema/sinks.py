"""``[sinks.<id>]``: where the journal is drained to (InfluxDB v1/v2, MQTT).

Rules of this module:
- secrets are never in the file itself: ``token_file`` / ``password_file`` name files
  (mode 0600; the sink warns loudly at start when one is group- or world-readable);
- HTTPS verifies certificates unless ``verify_tls = false`` is written explicitly;
- :func:`cross_check` rejects combinations that cannot work (a CA file on plain HTTP,
  a password without a user, a minimum batch above the maximum).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, HttpUrl

from gateway.schema.base import Section
from gateway.schema.mqtt import MqttSinkConfig
from gateway.schema.paths import ConfigPath

if TYPE_CHECKING:
    from gateway.config import GatewayConfig


class _InfluxSink(Section):
    url: HttpUrl
    batch_size: Annotated[int, Field(ge=1, le=50_000)] = 5000  # points per request to start with
    min_batch_size: Annotated[int, Field(ge=1, le=50_000)] = 100  # floor when the server is struggling
    max_batch_size: Annotated[int, Field(ge=1, le=50_000)] = 20_000  # ceiling when answers are fast
    concurrency: Annotated[int, Field(ge=1, le=8)] = 2  # requests in flight while catching up
    flush_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 1.0
    gzip: bool = True
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    verify_tls: bool = True
    ca_file: ConfigPath | None = None
    min_backoff_s: Annotated[float, Field(ge=0.01, le=60)] = 1.0
    max_backoff_s: Annotated[float, Field(ge=0.1, le=3600)] = 300.0
    down_after_s: Annotated[float, Field(ge=0, le=3600)] = 30.0  # failing this long -> "sink down" event
    rejected_file: ConfigPath | None = Field(
        default=None, description="default: <state_dir>/rejected-<sink>.lp"
    )
    enabled: bool = True


class InfluxV1SinkConfig(_InfluxSink):
    """InfluxDB 1.x ``/write`` API (Debian's and Raspberry Pi OS's ``influxdb`` package)."""

    kind: Literal["influx-v1"]
    database: str = Field(min_length=1)
    username: str | None = None
    password_file: ConfigPath | None = None
    retention_policy: str | None = None


class InfluxV2SinkConfig(_InfluxSink):
    """InfluxDB 2.x/3.x API (and compatible servers such as VictoriaMetrics)."""

    kind: Literal["influx-v2"]
    org: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    token_file: ConfigPath | None = None


SinkConfig = Annotated[InfluxV1SinkConfig | InfluxV2SinkConfig | MqttSinkConfig, Field(discriminator="kind")]

InfluxSinkConfig = InfluxV1SinkConfig | InfluxV2SinkConfig


def cross_check(config: GatewayConfig) -> list[tuple[str, str]]:
    """Problems spanning several keys of one InfluxDB sink."""
    problems: list[tuple[str, str]] = []
    for name, sink in config.sinks.items():
        if not isinstance(sink, InfluxV1SinkConfig | InfluxV2SinkConfig):
            continue
        where = f"sinks.{name}"
        if sink.url.scheme != "https" and sink.ca_file is not None:
            problems.append((f"{where}.ca_file", "a CA file only makes sense with an https:// url"))
        if sink.url.scheme != "https" and not sink.verify_tls:
            problems.append((f"{where}.verify_tls", "verify_tls only applies to an https:// url"))
        if sink.min_batch_size > sink.max_batch_size:
            problems.append((f"{where}.min_batch_size", "must not be larger than max_batch_size"))
        if not sink.min_batch_size <= sink.batch_size <= sink.max_batch_size:
            problems.append((f"{where}.batch_size", "must lie between min_batch_size and max_batch_size"))
        if sink.min_backoff_s > sink.max_backoff_s:
            problems.append((f"{where}.min_backoff_s", "must not be larger than max_backoff_s"))
        if isinstance(sink, InfluxV1SinkConfig) and sink.password_file is not None and not sink.username:
            problems.append((f"{where}.password_file", "a password needs a username"))
    return problems
