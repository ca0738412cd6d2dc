"""SIGHUP: re-read the configuration; an invalid one is refused and the old one kept.

How a valid new configuration is applied: **the process re-executes itself** (same PID, same
command line) after an orderly stop. Chosen over restarting services in-process because it is
the one way that is sure to release everything the old configuration held — serial ports,
GPIO lines, BLE scanner, the admin page's port, threads of client libraries — with no code
path that only reload exercises. The cost is a stop/start of a second or two; the orderly stop
commits the journal first, so nothing measured is lost. systemd sees ``RELOADING=1`` then
the new process's ``READY=1`` on the same PID (``Type=notify`` accepts that).

A bad file never stops the daemon, whatever is wrong with it (invalid, unreadable, not UTF-8,
nested too deep, or failing in a way nobody foresaw): the reason is logged (one located line per
problem; a traceback for the unforeseen), shown in ``systemctl status`` (``STATUS=``) and raised
as an event for the admin page, and the daemon runs on with the configuration it has.

Wiring (``gateway/commands/run.py``): after ``asyncio.run(daemon.run())`` call
:func:`reexec_if_requested` (it returns only when no reload is pending).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.model import Event
from gateway.systemd_notify import Notifier

if TYPE_CHECKING:
    from gateway.daemon import Daemon

log = logging.getLogger("gateway.reload")

async def reload_config(daemon: Daemon) -> bool:
    """Validate the file again; return whether the new configuration was accepted. Never raises.

    Accepted and different: the daemon is asked to stop and :func:`reexec_if_requested`
    restarts the process on it. Refused — invalid, unreadable, or failing in a way the loader
    did not foresee (a bug: logged with its traceback) —: nothing changes, the daemon runs on.
    """
    try:
        return _reload(daemon)
    except Exception:  # a reload must never end the daemon: whatever failed, the old config runs on
        log.exception("reload failed unexpectedly; still running on the previous configuration")
        _refused(daemon, "reload failed unexpectedly (see the log); running on the old config",
                 "configuration reload failed unexpectedly (see the service log)")
        return False


def _reload(daemon: Daemon) -> bool:
    path = daemon.options.config_path
    notifier = _notifier(daemon)
    if path is None:
        log.warning("reload requested but this daemon has no configuration file (demo); ignored")
        return False
    try:
        new = load_config(path)
    except ConfigError as exc:
        log.error("reload refused, still running on the previous configuration; fix and reload:\n%s", exc)
        count = len(exc.problems)
        first = str(exc.problems[0]) if exc.problems else str(path)
        more = f" (and {count - 1} more)" if count > 1 else ""
        _refused(daemon, f"reload refused ({count} problems in {path}); running on the old config",
                 f"configuration reload refused: {first}{more}")
        return False
    except Exception:  # a loader bug: refuse the file, say so loudly, keep running
        log.exception("reload refused: %s could not be validated (a bug: please report it); still running "
                      "on the previous configuration", path)
        _refused(daemon, f"reload refused ({path} could not be validated); running on the old config",
                 f"configuration reload refused: {path} could not be validated (see the service log)")
        return False
    if new == daemon.config:
        log.info("reload: configuration unchanged, nothing to do")
        notifier.notify(status="reload: configuration unchanged")
        return True
    old = daemon.config
    changed = sorted(name for name in type(new).model_fields if getattr(new, name) != getattr(old, name))
    log.info("reload: configuration changed (%s); restarting in place to apply it", ", ".join(changed))
    notifier.notify(reloading=True, status=f"reloading: {', '.join(changed)} changed")
    daemon.reexec_requested = True
    daemon.stop()
    return True


def _refused(daemon: Daemon, status: str, event: str) -> None:
    """Say a reload was refused: ``systemctl status`` and the admin page's events (best effort)."""
    try:
        _notifier(daemon).notify(status=status)
    except Exception as exc:  # the notification socket is no reason to stop
        log.warning("could not tell systemd the reload was refused: %s", exc)
    try:
        _event(daemon, event)
    except Exception as exc:
        log.warning("could not raise the reload-refused event: %s", exc)


def reexec_if_requested(daemon: Daemon) -> None:
    """After the daemon stopped: re-execute this process if a reload asked for it."""
    if not daemon.reexec_requested:
        return
    argv = [sys.executable, *sys.orig_argv[1:]]
    log.info("re-executing: %s", " ".join(argv))
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - our own command line, unchanged


def _notifier(daemon: Daemon) -> Notifier:
    return daemon.options.hooks.notifier or Notifier.from_environment()


def _event(daemon: Daemon, message: str) -> None:
    core = daemon.core
    if core is None:
        return
    core.raise_event(Event("config_rejected", "config", message, core.clock.time_ns(), "warning"))
