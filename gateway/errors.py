"""Errors that say whose fault it is.

- :class:`ConfigError`: the configuration is wrong; refuse to start, or keep the old one on reload.
- :class:`DeviceError`: a meter, sensor or peer misbehaved; counted, never escapes a driver loop.
- :class:`StorageError`: the journal or the disk failed.
- :class:`SinkError`: a remote server refused or failed; the sink retries from its cursor.
"""

from __future__ import annotations

from dataclasses import dataclass


class GatewayError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file, located as precisely as we can."""

    file: str
    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(file)'}: {self.reason}"


class ConfigError(GatewayError, ValueError):
    """An invalid configuration; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DeviceError(GatewayError):
    """A device or peer failed to answer or answered nonsense."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(f"{device}: {message}")


class StorageError(GatewayError, OSError):
    """The local journal or archive failed."""


class SinkError(GatewayError):
    """A sink's server refused or failed a write."""

    def __init__(
        self, sink: str, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        self.sink = sink
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(f"{sink}: {message}")
