"""TOML configuration -> validated, frozen models; errors name file, line, field and reason.

Rules of this module:
- every problem is reported, not just the first, one line each: ``FILE:LINE: path: reason``;
- unknown keys are errors (a typo must not silently change behaviour);
- nothing past this module handles ``dict[str, Any]``: the rest of the code gets models.

Example::

    cfg = load_config("examples/village.toml")   # raises ConfigError
    cfg.site.timezone                            # 'Europe/Paris'
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from gateway.errors import ConfigError, ConfigProblem
from gateway.schema.base import Ident, Section
from gateway.schema.ble import BleSection
from gateway.schema.gpio import GpioSection
from gateway.schema.journal import JournalConfig
from gateway.schema.modbus import BusConfig
from gateway.schema.service import ServiceSection
from gateway.schema.simulation import SimulationSection
from gateway.schema.sinks import SinkConfig
from gateway.schema.site import BuildingConfig, SiteConfig
from gateway.schema.web import WebSection
from gateway.tomlpos import line_of, locate_lines
from rules.config import LeakSection, LightingSection

#: Configuration schema version; a file may say ``version = 1``. Bump with a migration below.
SCHEMA_VERSION = 1

#: Modules whose ``cross_check(config)`` runs after validation (rules spanning sections).
CROSS_CHECKS = (
    "gateway.schema.modbus",
    "gateway.schema.sinks",
    "gateway.schema.ble",
    "gateway.schema.gpio",
    "gateway.schema.site",
    "gateway.schema.web",
    "gateway.schema.simulation",
    "rules.config",
)


class GatewayConfig(Section):
    """The whole configuration of one village gateway."""

    version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    site: SiteConfig
    buildings: dict[Ident, BuildingConfig] = Field(default_factory=dict)
    buses: dict[Ident, BusConfig] = Field(default_factory=dict)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    sinks: dict[Ident, SinkConfig] = Field(default_factory=dict)
    ble: BleSection = Field(default_factory=BleSection)
    gpio: GpioSection = Field(default_factory=GpioSection)
    lighting: LightingSection = Field(default_factory=LightingSection)
    leaks: LeakSection = Field(default_factory=LeakSection)
    simulation: SimulationSection = Field(default_factory=SimulationSection)
    web: WebSection = Field(default_factory=WebSection)
    service: ServiceSection = Field(default_factory=ServiceSection)

    @property
    def journal_path(self) -> Path:
        """The journal file: configured, or ``journal.sqlite`` in the state directory."""
        return self.journal.path or self.service.state_dir / "journal.sqlite"


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade an older file's data to :data:`SCHEMA_VERSION` (none needed yet)."""
    return data


def _path_of(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (
            part in {"tcp", "rtu", "influx-v1", "influx-v2", "mqtt"}
            or "[" in str(part)
            or "function-" in str(part)
        ):
            continue  # pydantic's discriminator / validator tags are not part of the user's path
        else:
            out += f".{part}" if out else str(part)
    return out


def _reason(error: Any) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown key (typo?)"
    if kind == "missing":
        return "required but missing"
    if kind == "union_tag_invalid":
        given = error.get("input", {}).get("kind")
        return f"unknown kind {given!r}; expected one of {error['ctx']['expected_tags']}"
    if kind == "union_tag_not_found":
        return "missing 'kind' (which kind of bus or sink is this?)"
    if kind == "string_pattern_mismatch":
        return f"{error.get('input')!r} is not a valid identifier (lower-case letters, digits, '-', '_')"
    return re.sub(r"^Value error, ", "", msg)


def parse_config(text: str, *, file: str = "<config>", base_dir: Path | None = None) -> GatewayConfig:
    """Validate configuration ``text``; raise :class:`ConfigError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            [ConfigProblem(file, "", f"not valid TOML: {exc}", int(match.group(1)) if match else None)]
        ) from exc
    lines = locate_lines(text)
    try:
        config = GatewayConfig.model_validate(_migrate(data), context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = _path_of(error["loc"])
            problems.append(ConfigProblem(file, path, _reason(error), line_of(lines, path)))
        raise ConfigError(_in_file_order(problems)) from exc
    problems = [
        ConfigProblem(file, path, reason, line_of(lines, path))
        for module in CROSS_CHECKS
        for path, reason in _cross_check(module, config)
    ]
    if problems:
        raise ConfigError(_in_file_order(problems))
    return config


def _in_file_order(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Problems sorted as a person reads the file: by line, then path."""
    return sorted(problems, key=lambda p: (p.line or 0, p.path))


def _cross_check(module_name: str, config: GatewayConfig) -> list[tuple[str, str]]:
    module = importlib.import_module(module_name)
    check = getattr(module, "cross_check", None)
    return list(check(config)) if check else []


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a configuration file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(file), "", f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(file), "", f"not UTF-8 text: {exc}")]) from exc
    return parse_config(text, file=str(file), base_dir=file.resolve().parent)
