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
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from gateway.config_problems import MAX_DEPTH, cross_problem, depth_problem, syntax_problem, validation_problems
from gateway.errors import ConfigError, ConfigProblem
from gateway.schema.base import Ident, Section
from gateway.schema.ble import BleSection
from gateway.schema.gpio import GpioSection
from gateway.schema.journal import JournalConfig
from gateway.schema.modbus import BusConfig
from gateway.schema.report import ReportSection
from gateway.schema.service import ServiceSection
from gateway.schema.simulation import SimulationSection
from gateway.schema.sinks import SinkConfig
from gateway.schema.site import BuildingConfig, SiteConfig
from gateway.schema.web import WebSection
from gateway.tomlpos import NotUtf8Error, decode_toml, format_path, locate, quick_depth
from rules.config import LeakSection, LightingSection

#: Configuration schema version; a file may say ``version = 1``. Bump with a migration below.
SCHEMA_VERSION = 1

#: A configuration is a few kilobytes; anything much larger is not one (and is not read whole).
MAX_FILE_BYTES = 1_000_000

#: Modules whose ``cross_check(config)`` runs after validation (rules spanning sections).
CROSS_CHECKS = (
    "gateway.schema.modbus",
    "gateway.schema.sinks",
    "gateway.schema.ble",
    "gateway.schema.gpio",
    "gateway.schema.site",
    "gateway.schema.web",
    "gateway.schema.report",
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
    report: ReportSection = Field(default_factory=ReportSection)
    service: ServiceSection = Field(default_factory=ServiceSection)

    @property
    def journal_path(self) -> Path:
        """The journal file: configured, or ``journal.sqlite`` in the state directory."""
        return self.journal.path or self.service.state_dir / "journal.sqlite"


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade an older file's data to :data:`SCHEMA_VERSION` (none needed yet)."""
    return data


def parse_config(text: str, *, file: str = "<config>", base_dir: Path | None = None) -> GatewayConfig:
    """Validate configuration ``text``; raise :class:`ConfigError` listing every problem, each located."""
    text = text.removeprefix("\ufeff")  # a byte order mark (Windows Notepad) is not part of the TOML
    if quick_depth(text) > MAX_DEPTH:  # tomllib recurses: refuse before it overflows the stack
        too_deep = depth_problem(file, locate(text))
        if too_deep is not None:
            raise ConfigError([too_deep])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([syntax_problem(file, str(exc), text)]) from exc
    try:
        config = GatewayConfig.model_validate(_migrate(data), context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = validation_problems(file, exc, locate(text), GatewayConfig)
        raise ConfigError(_in_file_order(problems, file)) from exc
    pairs = [pair for module in CROSS_CHECKS for pair in _cross_check(module, config)]
    if pairs:
        located = locate(text)
        # a cross-check may report a problem already located in another file (a meter profile)
        problems = [p if isinstance(p, ConfigProblem) else cross_problem(file, *p, located) for p in pairs]
        raise ConfigError(_in_file_order(problems, file))
    return config


def _in_file_order(problems: list[ConfigProblem], file: str) -> list[ConfigProblem]:
    """Problems sorted as a person reads the file: by line, then path; other files' after."""
    return sorted(problems, key=lambda p: (p.file != file, p.file, p.line or 0, p.path))


def _cross_check(module_name: str, config: GatewayConfig) -> list[tuple[str, str] | ConfigProblem]:
    module = importlib.import_module(module_name)
    check = getattr(module, "cross_check", None)
    return list(check(config)) if check else []


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate a configuration file; every failure is a :class:`ConfigError`.

    The file must be a regular file of at most :data:`MAX_FILE_BYTES` in UTF-8 (a byte order
    mark, as Windows Notepad writes, is accepted); text that is not UTF-8 is located at its line.
    """
    file = Path(path)
    name = str(file)
    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([ConfigProblem(name, "", "cannot read: not a regular file")])
        if info.st_size > MAX_FILE_BYTES:
            reason = f"cannot read: {info.st_size} bytes, more than a configuration ({MAX_FILE_BYTES} at most)"
            raise ConfigError([ConfigProblem(name, "", reason)])
        data = file.read_bytes()[: MAX_FILE_BYTES + 1]
        base_dir = file.resolve().parent
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Path.resolve)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([ConfigProblem(name, "", f"cannot read: {reason}")]) from exc
    try:
        text = decode_toml(data)
    except NotUtf8Error as exc:
        raise ConfigError([ConfigProblem(name, format_path(exc.where), exc.reason, exc.line)]) from exc
    return parse_config(text, file=name, base_dir=base_dir)
