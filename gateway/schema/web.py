"""``[web]``: the admin page's address, session and login settings.

Secure by default: it listens on loopback unless told otherwise, cookies are HttpOnly and
SameSite=Lax always, and Secure whenever the request came over HTTPS (``secure_cookies =
"auto"``; a reverse proxy's ``X-Forwarded-Proto`` counts only from ``trusted_proxy``).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath


def parse_listen(value: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:8080"`` for IPv6) -> ``(host, port)``; :class:`ValueError` if malformed."""
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise ValueError(f"{host!r} is not an IPv6 address") from exc
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, e.g. [::1]:8080")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{port_text!r} is not a TCP port (1..65535)")
    return host, int(port_text)


class WebSection(Section):
    """The admin page."""

    listen: str = "127.0.0.1:8080"  # HOST:PORT; the mairie's LAN address to reach it from other PCs
    language: Literal["fr", "en"] = "fr"  # default interface language (each user may switch)
    secure_cookies: Literal["auto", "always", "never"] = "auto"  # Secure flag: auto = when served over HTTPS
    session_lifetime_min: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 8 * 60  # a working day
    secret_key_file: ConfigPath | None = (
        None  # signs session cookies; default <state_dir>/web-secret.key (0600)
    )
    trusted_proxy: str | None = (
        None  # address of an HTTPS reverse proxy whose X-Forwarded-* headers are trusted
    )
    login_max_failures: Annotated[int, Field(ge=1, le=100)] = (
        5  # failed logins of one (account, client) before delays start (1 s, doubling)
    )
    login_lockout_s: Annotated[int, Field(ge=1, le=86_400)] = (
        300  # the longest delay between two tries of a failing client
    )
    threads: Annotated[int, Field(ge=1, le=16)] = 4  # waitress worker threads
    public_page: bool = False  # /public: read-only, no login, aggregates of the buildings marked public

    @field_validator("listen")
    @classmethod
    def _valid_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("trusted_proxy")
    @classmethod
    def _valid_proxy(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not an IP address") from exc
        return value

    def secret_path(self, state_dir: Path) -> Path:
        """Where the session signing key lives."""
        return self.secret_key_file or Path(state_dir) / "web-secret.key"
