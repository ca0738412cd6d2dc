"""Health diagnosis for ``village-gateway doctor``: one finding per check, each saying what to do.

Rules of this module:
- every check returns :class:`Finding` values and never raises: a check that crashes becomes
  a ``FAIL`` naming the exception, so one broken probe never hides the others;
- access is judged *for the service user* (owner, group and mode bits against that user's
  groups), not for whoever runs ``doctor`` (usually root, who can open anything);
- the machine is reached through :class:`Probes` (``/dev``, ``/sys/class``, the D-Bus socket,
  the clock's sync source), so tests point it at a prepared tree; servers are reached for real.

Exit code (see :func:`exit_code`): 0 all OK, 1 warnings only, 2 at least one failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import pwd
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.clock import KernelSync, LastSeen, SyncSource
from gateway.doctor_finding import Finding
from gateway.doctor_heating import check_heating

if TYPE_CHECKING:
    from gateway.sinks.influx_http import Endpoint

@dataclass
class Probes:
    """Where doctor looks; the defaults are the real machine."""

    sync: SyncSource = field(default_factory=KernelSync)
    dev: Path = Path("/dev")
    sys_class: Path = Path("/sys/class")
    dbus_socket: Path = Path("/run/dbus/system_bus_socket")
    bluetooth_group: str = "bluetooth"  # the group BlueZ's D-Bus policy lets scan
    timeout_s: float = 5.0


# -- access as the service user ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """The service user as the kernel's permission checks see it."""

    name: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def lookup(cls, name: str) -> Account | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        return cls(name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))

    def can(self, path: Path, want: int) -> bool:
        """Whether this account may ``want`` (``os.R_OK | os.W_OK`` ...) ``path`` by its mode bits."""
        st = path.stat()
        if self.uid == 0:
            return True
        if st.st_uid == self.uid:
            bits = (st.st_mode >> 6) & 7
        elif st.st_gid in self.gids:
            bits = (st.st_mode >> 3) & 7
        else:
            bits = st.st_mode & 7
        return bits & want == want

    def in_group(self, name: str) -> bool:
        try:
            return grp.getgrnam(name).gr_gid in self.gids
        except KeyError:
            return False


def _rw(account: Account | None, path: Path) -> str | None:
    """Why ``account`` cannot read and write ``path`` (``None`` when it can)."""
    if account is None:
        return None
    if account.can(path, os.R_OK | os.W_OK):
        return None
    st = path.stat()
    owner = _name_of_uid(st.st_uid)
    group = _name_of_gid(st.st_gid)
    return (
        f"{account.name} cannot read and write it (owner {owner}, group {group}, mode "
        f"{stat.S_IMODE(st.st_mode):04o}): sudo usermod -a -G {group} {account.name}"
    )


def _name_of_uid(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _name_of_gid(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# -- the checks --------------------------------------------------------------------------------


def diagnose(config_path: Path, *, probes: Probes | None = None) -> list[Finding]:
    """Run every check on the configuration file and the machine."""
    from gateway.config import load_config
    from gateway.errors import ConfigError

    probes = probes or Probes()
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        findings = [
            Finding(
                "FAIL", "config", f"{config_path} is invalid; fix it (village-gateway check-config FILE)"
            )
        ]
        findings += [Finding("FAIL", "config", str(problem)) for problem in exc.problems]
        return findings + list(_guarded("clock", lambda: check_clock(None, probes)))
    findings = [Finding("OK", "config", f"{config_path} is valid (site {config.site.id!r})")]
    account = Account.lookup(config.service.user)
    checks: list[tuple[str, Callable[[], Iterable[Finding]]]] = [
        ("serial", lambda: check_serial(config, account)),
        ("bluetooth", lambda: check_bluetooth(config, account, probes)),
        ("gpio", lambda: check_gpio(config, account, probes)),
        ("sinks", lambda: check_sinks(config, probes)),
        ("clock", lambda: check_clock(config, probes)),
        ("disk", lambda: check_disk(config)),
        ("service user", lambda: check_permissions(config, config_path, account)),
        ("heating", lambda: check_heating(config, config_path)),  # fail-safe warnings (issue 10)
    ]
    for name, check in checks:
        findings += _guarded(name, check)
    return findings


def _guarded(name: str, check: Callable[[], Iterable[Finding]]) -> list[Finding]:
    try:
        return list(check())
    except Exception as exc:  # a broken probe is a finding, not a crash
        return [Finding("FAIL", name, f"the check itself failed: {type(exc).__name__}: {exc}")]


def check_serial(config: Any, account: Account | None) -> Iterator[Finding]:
    """Each RS-485 bus's serial port exists and the service user may open it."""
    ports = [(bus_id, bus.port) for bus_id, bus in config.buses.items() if bus.kind == "rtu"]
    if not ports:
        yield Finding("OK", "serial", "no RS-485 bus configured")
        return
    for bus_id, port in ports:
        what = f"serial {port} (bus {bus_id})"
        path = Path(port)
        if not path.exists():
            yield Finding("FAIL", what, "not present: plug in the RS-485 adapter (ls -l /dev/serial/by-id/)")
            continue
        if not (stat.S_ISCHR(path.stat().st_mode)):
            yield Finding("FAIL", what, "is not a character device: check the port name in [buses]")
            continue
        problem = _rw(account, path)
        yield Finding("FAIL", what, problem) if problem else Finding("OK", what, "present and accessible")


def check_bluetooth(config: Any, account: Account | None, probes: Probes) -> Iterator[Finding]:
    """The adapter exists, is not rfkill-blocked, BlueZ's D-Bus is there and the user may use it."""
    sensors = [s for s in config.ble.sensors if s.enabled]
    if not config.ble.enabled or not sensors:
        yield Finding("OK", "bluetooth", "no BLE sensor configured")
        return
    adapter = config.ble.adapter
    what = f"bluetooth {adapter}"
    device = probes.sys_class / "bluetooth" / adapter
    if not device.exists():
        yield Finding("FAIL", what, "adapter not present: check `bluetoothctl list`; on a Pi, that "
                      "dtoverlay=disable-bt is not in /boot/firmware/config.txt")
        return
    for kill in sorted((probes.sys_class / "rfkill").glob("rfkill*")):
        if _read(kill / "type") != "bluetooth":
            continue
        if _read(kill / "hard") == "1":
            yield Finding("FAIL", what, "blocked by a hardware switch (rfkill hard block)")
            return
        if _read(kill / "soft") == "1":
            yield Finding("FAIL", what, "blocked by rfkill: sudo rfkill unblock bluetooth")
            return
    if not probes.dbus_socket.exists():
        yield Finding("FAIL", what, "no D-Bus system bus: sudo systemctl start dbus bluetooth")
        return
    if account is not None and not account.in_group(probes.bluetooth_group):
        fix = f"sudo usermod -a -G {probes.bluetooth_group} {account.name}"
        yield Finding("FAIL", what, f"{account.name} may not scan: {fix}")
        return
    yield Finding("OK", what, f"adapter present, not blocked, scanning allowed ({len(sensors)} sensors)")


def check_gpio(config: Any, account: Account | None, probes: Probes) -> Iterator[Finding]:
    """A GPIO chip exists and the service user may open it."""
    used = len(config.gpio.relays) + len(config.gpio.inputs)
    if not used:
        yield Finding("OK", "gpio", "no relay or input configured")
        return
    chips = sorted(probes.dev.glob("gpiochip*"))
    if not chips:
        yield Finding("FAIL", "gpio", f"no {probes.dev}/gpiochip*: is this a Raspberry Pi with GPIO enabled?")
        return
    problems = [(chip, _rw(account, chip)) for chip in chips]
    usable = [chip for chip, problem in problems if problem is None]
    if not usable:
        yield Finding("FAIL", "gpio", f"{chips[0]}: {problems[0][1]}")
        return
    yield Finding("OK", "gpio", f"{usable[0]} accessible ({used} relays and inputs configured)")


def check_sinks(config: Any, probes: Probes) -> Iterator[Finding]:
    """Each enabled sink answers and accepts our credentials."""
    if not config.sinks:
        yield Finding("WARN", "sinks", "no sink configured: measurements stay in the local journal only")
        return
    for name, sink in config.sinks.items():
        what = f"sink {name} ({sink.kind})"
        if not sink.enabled:
            yield Finding("OK", what, "disabled")
            continue
        if sink.kind == "influx-v1":
            yield _check_influx_v1(what, sink, probes)
        elif sink.kind == "influx-v2":
            yield _check_influx_v2(what, sink, probes)
        else:
            yield _check_mqtt(what, sink, probes)


def _secret(path: Path | None) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path is not None else None


def _exchange(what: str, sink: Any, secret_file: str, auth: Callable[[str | None], dict[str, str]],
              ask: Callable[[Endpoint], Finding]) -> Finding:
    """Ask the sink's server through the sink's own transport (its TLS settings and credentials).

    An unreadable secret and an unreachable server are findings; the connection is always closed.
    """
    from gateway.sinks.influx_http import NETWORK_ERRORS, Endpoint

    try:
        secret = _secret(getattr(sink, secret_file))
    except OSError as exc:
        return Finding("FAIL", what, f"cannot read {secret_file}: {exc}")
    server = Endpoint(sink, auth=auth(secret), pool_size=1)
    try:
        return ask(server)
    except NETWORK_ERRORS as exc:
        reason = getattr(exc, "reason", exc)
        return Finding("FAIL", what, f"{server.base} unreachable ({reason}): server running? address right? "
                       "network up?")
    finally:
        server.close()


def _check_influx_v1(what: str, sink: Any, probes: Probes) -> Finding:
    from gateway.sinks.influx_http import v1_auth

    def ask(server: Endpoint) -> Finding:
        status, _ = server.get("/ping", timeout=probes.timeout_s)
        if status not in (200, 204):
            return Finding("FAIL", what, f"{server.base}/ping answered HTTP {status}: is it an InfluxDB 1.x server?")
        status, body = server.get("/query", query={"q": "SHOW DATABASES"}, timeout=probes.timeout_s)
        if status in (401, 403):
            return Finding("FAIL", what, "not authorised: check username and password_file")
        if status != 200:
            return Finding("FAIL", what, f"SHOW DATABASES answered HTTP {status}")
        names = {row[0] for result in json.loads(body).get("results", []) for series in result.get("series", [])
                 for row in series.get("values", [])}
        if sink.database not in names:
            return Finding("WARN", what, f"reachable, but database {sink.database!r} does not exist: "
                           f"influx -execute 'CREATE DATABASE \"{sink.database}\"'")
        return Finding("OK", what, f"reachable and authorised, database {sink.database!r} exists")

    return _exchange(what, sink, "password_file", lambda secret: v1_auth(sink, secret), ask)


def _check_influx_v2(what: str, sink: Any, probes: Probes) -> Finding:
    from gateway.sinks.influx_http import v2_auth

    def ask(server: Endpoint) -> Finding:
        status, _ = server.get("/ping", auth=False, timeout=probes.timeout_s)
        if status not in (200, 204):
            status, _ = server.get("/health", auth=False, timeout=probes.timeout_s)
        if status not in (200, 204):
            return Finding("FAIL", what, f"{server.base} answered HTTP {status} to /ping and /health")
        query = {"org": sink.org, "name": sink.bucket}
        status, body = server.get("/api/v2/buckets", query=query, timeout=probes.timeout_s)
        if status in (401, 403):
            return Finding("FAIL", what, "token refused: check token_file (a write token for the bucket)")
        if status in (400, 404, 405):
            return Finding("WARN", what, "reachable; this server has no buckets API (e.g. VictoriaMetrics), "
                           "so the token and bucket could not be verified")
        if status != 200:
            return Finding("FAIL", what, f"the buckets API answered HTTP {status}")
        buckets = {b.get("name") for b in json.loads(body).get("buckets", [])}
        if sink.bucket not in buckets:
            return Finding("FAIL", what, f"authorised, but bucket {sink.bucket!r} not found in org {sink.org!r}")
        return Finding("OK", what, f"reachable and authorised, bucket {sink.bucket!r} exists")

    return _exchange(what, sink, "token_file", v2_auth, ask)


def _check_mqtt(what: str, sink: Any, probes: Probes) -> Finding:
    import aiomqtt

    try:
        password = _secret(sink.password_file)
    except OSError as exc:
        return Finding("FAIL", what, f"cannot read password_file: {exc}")
    tls = aiomqtt.TLSParameters(ca_certs=str(sink.ca_file) if sink.ca_file else None) if sink.tls else None

    async def connect() -> None:
        async with aiomqtt.Client(
            sink.host, sink.port, username=sink.username, password=password, tls_params=tls,
            timeout=probes.timeout_s, identifier=f"village-gateway-doctor-{os.getpid()}",
        ):
            pass

    try:
        asyncio.run(asyncio.wait_for(connect(), probes.timeout_s * 2))
    except aiomqtt.MqttCodeError as exc:
        if _code(exc.rc) in (4, 5, 134, 135):  # MQTT 3.1.1 / 5: bad user name or password, not authorised
            return Finding("FAIL", what, f"credentials refused ({exc}): check username and password_file")
        return Finding("FAIL", what, f"broker refused the connection: {exc}")
    except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
        return Finding("FAIL", what, f"{sink.host}:{sink.port} unreachable ({exc}): is the broker running?")
    who = f" as {sink.username}" if sink.username else ""
    return Finding("OK", what, f"connected to {sink.host}:{sink.port}{who}")


def _code(rc: Any) -> int:
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else -1


def check_clock(config: Any, probes: Probes) -> Iterator[Finding]:
    """The kernel says the clock is synchronised; it is not before the last time seen."""
    status = probes.sync.sync_status()
    require = config.service.clock.require_sync if config is not None else True
    if status.synchronised:
        yield Finding("OK", "clock", f"synchronised ({status.detail})")
    elif not require:
        yield Finding("OK", "clock", f"not synchronised, but require_sync = false ({status.detail})")
    else:
        yield Finding(
            "WARN",
            "clock",
            f"not synchronised ({status.detail}): readings are flagged and schedules run in safe mode "
            "until it is; check the network and `timedatectl timesync-status`",
        )
    if config is not None:
        last = LastSeen(config.service.state_dir).load()
        now = _wall_ns()
        if last is not None and now < last - 5_000_000_000:
            behind = (last - now) / 1e9
            yield Finding(
                "WARN", "clock", f"{behind:.0f} s before the last time the gateway saw (not set at boot?)"
            )


def _wall_ns() -> int:
    import time

    return time.time_ns()


def check_disk(config: Any) -> Iterator[Finding]:
    """Free space where the journal lives is enough for its budget."""
    path = config.journal_path
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    usage = shutil.disk_usage(existing)
    files = path.parent.glob(path.name + "*") if path.parent.exists() else ()
    used = sum(p.stat().st_size for p in files if p.is_file())
    budget = int(config.journal.budget_mb * 1024 * 1024)
    still_needed = max(0, budget - used)
    mb = 1024 * 1024
    what = f"disk ({existing})"
    if usage.free < still_needed:
        yield Finding(
            "FAIL",
            what,
            f"{usage.free // mb} MB free but the journal may still grow by {still_needed // mb} MB: "
            f"free space or lower [journal] budget_mb (now {config.journal.budget_mb:g})",
        )
    elif usage.free - still_needed < max(100 * mb, usage.total // 20):
        yield Finding(
            "WARN",
            what,
            f"{usage.free // mb} MB free; once the journal reaches its budget less than 5 % would remain: "
            "free some space (sudo journalctl --vacuum-size=100M) or lower budget_mb",
        )
    else:
        yield Finding("OK", what, f"{usage.free // mb} MB free for a journal budget of {budget // mb} MB "
                      f"({used // mb} MB used)")


def check_permissions(config: Any, config_path: Path, account: Account | None) -> Iterator[Finding]:
    """The service user exists; state is its own and private; config and secrets are not public."""
    user = config.service.user
    if account is None:
        yield Finding("FAIL", "service user", f"user {user!r} does not exist: run sudo ./install.sh")
        return
    yield Finding("OK", "service user", f"{user} exists (uid {account.uid})")
    state = Path(config.service.state_dir)
    if not state.exists():
        fix = f"sudo install -d -m 0750 -o {user} -g {user} {state}"
        yield Finding("FAIL", f"state {state}", f"missing: {fix}")
    else:
        st = state.stat()
        if account.uid not in (st.st_uid, 0):
            yield Finding("FAIL", f"state {state}", f"owned by {_name_of_uid(st.st_uid)}, not {user}: "
                          f"sudo chown -R {user}:{user} {state}")
        elif stat.S_IMODE(st.st_mode) & 0o007:
            mode = stat.S_IMODE(st.st_mode)
            fix = f"sudo chmod 0750 {state}"
            yield Finding("WARN", f"state {state}", f"readable by everyone (mode {mode:04o}): {fix}")
        else:
            yield Finding("OK", f"state {state}", f"owned by {user}, mode {stat.S_IMODE(st.st_mode):04o}")
    conf_mode = stat.S_IMODE(config_path.stat().st_mode)
    if not account.can(config_path, os.R_OK):
        fix = f"sudo chgrp {user} {config_path}; sudo chmod 0640 {config_path}"
        yield Finding("FAIL", f"config {config_path}", f"{user} cannot read it: {fix}")
    elif conf_mode & 0o007:
        yield Finding("WARN", f"config {config_path}", f"readable by everyone (mode {conf_mode:04o}): "
                      f"sudo chmod 0640 {config_path}")
    else:
        yield Finding("OK", f"config {config_path}", f"readable by {user}, not others (mode {conf_mode:04o})")
    yield from _check_secrets(config, account)


def _secret_files(config: Any) -> Iterator[tuple[str, Path]]:
    for name, sink in config.sinks.items():
        for key in ("token_file", "password_file"):
            path = getattr(sink, key, None)
            if path is not None:
                yield f"sinks.{name}.{key}", Path(path)
    for i, sensor in enumerate(config.ble.sensors):
        if sensor.bindkey_file is not None:
            yield f"ble.sensors[{i}].bindkey_file", Path(sensor.bindkey_file)


def _check_secrets(config: Any, account: Account) -> Iterator[Finding]:
    for key, path in _secret_files(config):
        what = f"secret {path}"
        if not path.exists():
            yield Finding("FAIL", what, f"missing ({key}): create it, mode 0600, owner {account.name}")
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            yield Finding("FAIL", what, f"readable by others (mode {mode:04o}): sudo chmod 0600 {path}")
        elif not account.can(path, os.R_OK):
            yield Finding("FAIL", what, f"{account.name} cannot read it: sudo chown {account.name} {path}")
        else:
            yield Finding("OK", what, f"readable by {account.name} only (mode {mode:04o})")


def _read(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text().strip()
    return ""
