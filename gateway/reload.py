"""SIGHUP: re-read the configuration; an invalid one is refused and the old one kept."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.config import load_config
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.daemon import Daemon

log = logging.getLogger("gateway.reload")


async def reload_config(daemon: Daemon) -> bool:
    """Validate the file again; return whether the new configuration was accepted."""
    path = daemon.options.config_path
    if path is None:
        log.warning("reload requested but this daemon has no configuration file (demo); ignored")
        return False
    try:
        new = load_config(path)
    except ConfigError as exc:
        log.error("reload refused, keeping the running configuration:\n%s", exc)
        return False
    if new == daemon.config:
        log.info("reload: configuration unchanged")
        return True
    log.info("reload: configuration changed")
    daemon.config = new
    return True
