"""``[sinks.<id>]`` with ``kind = "mqtt"``: state published to an MQTT broker."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath


class MqttSinkConfig(Section):
    """An MQTT broker (mosquitto on the Pi, or the intercommunality's)."""

    kind: Literal["mqtt"]
    host: str = Field(min_length=1)
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    topic_prefix: str = "village"
    qos: Literal[0, 1, 2] = 1
    username: str | None = None
    password_file: ConfigPath | None = None
    tls: bool = False
    ca_file: ConfigPath | None = None
    homeassistant_discovery: bool = False
    enabled: bool = True
