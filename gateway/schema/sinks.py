"""``[sinks.<id>]``: where the journal is drained to (InfluxDB v1/v2, MQTT)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, HttpUrl

from gateway.schema.base import Section
from gateway.schema.mqtt import MqttSinkConfig
from gateway.schema.paths import ConfigPath


class _InfluxSink(Section):
    url: HttpUrl
    batch_size: Annotated[int, Field(ge=1, le=50_000)] = 5000
    flush_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 1.0
    gzip: bool = True
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    verify_tls: bool = True
    ca_file: ConfigPath | None = None
    max_backoff_s: Annotated[float, Field(ge=1, le=3600)] = 300.0
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


SinkConfig = Annotated[
    InfluxV1SinkConfig | InfluxV2SinkConfig | MqttSinkConfig, Field(discriminator="kind")
]
