"""``[sinks.<id>]`` with ``kind = "mqtt"``: state published to an MQTT broker.

Rules of this section:
- the broker is verified when ``tls = true`` (``ca_file`` or the system's CAs); there is no
  "insecure" switch;
- a password comes from a file (``password_file``, mode 0600), never inline;
- ``topic_prefix`` is one or more plain topic levels (no ``+``, ``#``, empty level or
  leading/trailing ``/``): topics are ``<prefix>/<site>/<building>/<zone>/<quantity>``.

Example::

    [sinks.mqtt]
    kind = "mqtt"
    host = "127.0.0.1"
    homeassistant_discovery = true
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath

_LEVELS = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


class MqttSinkConfig(Section):
    """An MQTT broker (mosquitto on the Pi, or the intercommunality's)."""

    kind: Literal["mqtt"]
    host: str = Field(min_length=1)
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    topic_prefix: str = "village"
    qos: Literal[0, 1, 2] = 1
    client_id: str | None = Field(default=None, description="default: village-gateway-<site>")
    username: str | None = None
    password_file: ConfigPath | None = None
    tls: bool = False
    ca_file: ConfigPath | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 60
    max_backoff_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    batch_size: Annotated[int, Field(ge=1, le=50_000)] = 2000
    commands: bool = Field(default=True, description="accept <prefix>/<site>/<building>/<zone>/override/set")
    homeassistant_discovery: bool = False
    homeassistant_prefix: str = "homeassistant"
    enabled: bool = True

    @field_validator("topic_prefix", "homeassistant_prefix")
    @classmethod
    def _levels(cls, value: str) -> str:
        if not _LEVELS.fullmatch(value):
            raise ValueError(f"{value!r}: topic levels of letters, digits, '-' and '_' separated by '/'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MqttSinkConfig:
        if self.password_file is not None and not self.username:
            raise ValueError("password_file needs a username")
        if self.ca_file is not None and not self.tls:
            raise ValueError("ca_file is given but tls = false (set tls = true)")
        return self
