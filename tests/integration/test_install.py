"""install.sh, run for real into a temporary root (``--root DIR``): files, modes, the unit,
idempotence (hash of the whole tree), uninstall and purge, dry run, refusals; and once with
the real Python environment built by pip from this source tree."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import require_tool

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "install.sh"
SITE = ["--site-id", "saint-test", "--site-name", "Saint-Test-sur-Loire", "--latitude", "47.39", "--longitude", "0.98"]


def install(root: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def digest(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, str]]:
    """Every path under root -> (mode, content hash or link target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            found[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            found[rel] = (oct(stat.S_IMODE(st.st_mode)), "dir")
        else:
            found[rel] = (oct(stat.S_IMODE(st.st_mode)), hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_config(path: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "gateway.cli", "check-config", str(path)], capture_output=True, text=True, check=False)


def test_shellcheck_clean() -> None:
    shellcheck = require_tool("shellcheck")
    result = subprocess.run([shellcheck, str(INSTALL), str(REPO / ".ci" / "system-deps.sh")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_install_into_a_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    out = install(root, "--no-venv", *SITE, "--with-influxdb", "--with-mosquitto").stdout
    conf = root / "etc/village-gateway/gateway.toml"
    # the configuration: from the template, filled in, valid, 0640, secrets dir 0750
    assert mode(conf) == 0o640
    text = conf.read_text()
    assert 'id = "saint-test"' in text
    assert 'name = "Saint-Test-sur-Loire"' in text
    assert "latitude = 47.39" in text
    assert "@" not in text.replace("@SITE_ID@", "")  # every placeholder filled
    assert "\n[sinks.local]\nkind = \"influx-v1\"" in text  # --with-influxdb enables the local sink
    assert "\n[sinks.mqtt]\nkind = \"mqtt\"" in text
    result = check_config(conf)
    assert result.returncode == 0, result.stderr
    assert "site 'saint-test'" in result.stdout
    assert mode(root / "etc/village-gateway/secrets") == 0o750
    # state, unit, docs
    assert mode(root / "var/lib/village-gateway") == 0o750
    unit = root / "etc/systemd/system/village-gateway.service"
    assert unit.read_bytes() == (REPO / "systemd/village-gateway.service").read_bytes()
    assert mode(unit) == 0o644
    assert (root / "usr/local/share/doc/village-gateway/install.md").read_bytes() == (REPO / "docs/install.md").read_bytes()
    dropin = (root / "etc/systemd/system/influxdb.service.d/village-gateway.conf").read_text()
    assert "INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:8086" in dropin
    assert "listener 1883 127.0.0.1" in (root / "etc/mosquitto/conf.d/village-gateway.conf").read_text()
    # host changes are recorded, not made
    for expected in (
        "skip (--root): env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "python3-venv python3-pip influxdb influxdb-client curl mosquitto",
        "skip (--root): useradd --system --user-group --home-dir /var/lib/village-gateway",
        "skip (--root): usermod -a -G gpio village-gateway",
        "skip (--root): usermod -a -G dialout village-gateway",
        "skip (--root): usermod -a -G bluetooth village-gateway",
        "skip (--root): chown root:village-gateway /etc/village-gateway /etc/village-gateway/gateway.toml",
        "skip (--root): chown village-gateway:village-gateway /var/lib/village-gateway",
        "skip (--root): systemctl enable village-gateway.service",
        "skip (--root): influx -host 127.0.0.1 -execute CREATE\\ DATABASE\\ village",
        "would run: village-gateway user --state-dir ",
        "add admin --role admin --password-stdin  (as village-gateway, password generated and printed once)",
    ):
        assert expected in out, expected


def test_second_run_changes_nothing_and_never_overwrites_the_config(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root, "--no-venv", *SITE)
    before = digest(root)
    out = install(root, "--no-venv", "--site-id", "other").stdout
    assert digest(root) == before
    assert "kept as it is (install.sh never overwrites it)" in out
    # an administrator's edit survives an upgrade
    conf = root / "etc/village-gateway/gateway.toml"
    edited = conf.read_text().replace('log_level = "info"', 'log_level = "debug"')
    conf.write_text(edited)
    install(root, "--no-venv", *SITE)
    assert conf.read_text() == edited
    assert mode(conf) == 0o640


def test_uninstall_keeps_config_and_data_and_purge_removes_them(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root, "--no-venv", *SITE)
    venv = root / "opt/village-gateway"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").write_text("")
    journal = root / "var/lib/village-gateway/journal.sqlite"
    journal.write_bytes(b"data")
    out = install(root, "--uninstall").stdout
    assert not (root / "etc/systemd/system/village-gateway.service").exists()
    assert not venv.exists()
    assert journal.read_bytes() == b"data"
    assert (root / "etc/village-gateway/gateway.toml").exists()
    assert "skip (--root): systemctl disable --now village-gateway.service" in out
    out = install(root, "--uninstall", "--purge").stdout
    assert not (root / "etc/village-gateway").exists()
    assert not (root / "var/lib/village-gateway").exists()
    assert "skip (--root): userdel village-gateway" in out


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    out = install(root, "--dry-run", *SITE).stdout
    assert list(root.rglob("*")) == []
    assert "would run: install -m 0640" in out
    assert "would run:" in out
    assert "pip install" in out
    install(root, "--no-venv", *SITE)
    before = digest(root)
    out = install(root, "--dry-run", "--uninstall", "--purge").stdout
    assert digest(root) == before
    assert "would run: rm -rf" in out


def test_defaults_without_a_terminal_are_announced(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = install(root, "--no-venv")
    assert "defaults used for: village identifier" in result.stderr
    assert check_config(root / "etc/village-gateway/gateway.toml").returncode == 0


def test_remote_token_is_readable_by_the_service_only(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    root = tmp_path / "root"
    out = install(root, "--no-venv", *SITE, "--remote-token-file", str(token)).stdout
    stored = root / "etc/village-gateway/secrets/remote-influx.token"
    assert stored.read_text() == "s3cr3t-token\n"
    assert mode(stored) == 0o600
    assert "skip (--root): chown village-gateway:village-gateway /etc/village-gateway/secrets/remote-influx.token" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site-id", "Saint Martin"], "'Saint Martin' is not a valid identifier"),
        (["--site-id", "ok", "--latitude", "north"], "latitude and longitude are decimal degrees"),
        (["--site-id", "ok", "--site-name", 'a"b'], "the village name may not contain"),
        (["--purge"], "--purge only goes with --uninstall"),
        (["--bogus"], "unknown option: --bogus"),
    ],
)
def test_bad_arguments_are_refused_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    result = install(tmp_path / "root", "--no-venv", *args, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "root/etc/village-gateway/gateway.toml").exists()


def test_wrong_os_and_old_python_are_refused_first(tmp_path: Path) -> None:
    ubuntu = tmp_path / "os-release"
    ubuntu.write_text('ID=ubuntu\nVERSION_ID="22.04"\n')
    result = install(tmp_path / "root", "--no-venv", env={"VG_OS_RELEASE": str(ubuntu)}, check=False)
    assert result.returncode == 1
    assert "this is 'ubuntu 22.04'; village-gateway installs on Raspberry Pi OS or Debian 12" in result.stderr
    bullseye = tmp_path / "os-release-11"
    bullseye.write_text('ID=raspbian\nID_LIKE=debian\nVERSION_ID="11"\n')
    result = install(tmp_path / "root", "--no-venv", env={"VG_OS_RELEASE": str(bullseye)}, check=False)
    assert "needs Raspberry Pi OS / Debian 12 (bookworm)" in result.stderr
    old_python = tmp_path / "python3.9"
    old_python.write_text('#!/bin/sh\ncase "$2" in *print*) echo 3.9 ;; *) exit 1 ;; esac\n')  # a Python 3.9
    old_python.chmod(0o755)
    result = install(tmp_path / "root", "--no-venv", env={"VG_PYTHON": str(old_python)}, check=False)
    assert result.returncode == 1
    assert "Python 3.9 found; village-gateway needs Python 3.11 or newer" in result.stderr
    assert not (tmp_path / "root/etc").exists()


@pytest.mark.slow
def test_real_venv_is_built_and_upgraded_in_place(tmp_path: Path) -> None:
    """The real thing: python3 -m venv + pip install of this tree (from pip's cache/index)."""
    root = tmp_path / "root"
    first = install(root, *SITE).stdout
    cli = root / "opt/village-gateway/bin/village-gateway"
    # the admin account, with a generated password printed once, usable to log in
    password = re.search(r"password: (\S+)", first)
    assert password, first
    users = root / "var/lib/village-gateway/users.json"
    assert mode(users) == 0o600
    from gateway.users import UserStore

    assert UserStore.in_state_dir(users.parent).authenticate("admin", password.group(1)).role == "admin"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version
    result = subprocess.run([str(cli), "check-config", str(root / "etc/village-gateway/gateway.toml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert os.readlink(root / "usr/local/bin/village-gateway") == "/opt/village-gateway/bin/village-gateway"
    assert not (REPO / "build").exists()  # built from a copy: no droppings in the source tree
    outside_venv = digest(root, skip=("opt/village-gateway",))
    out = install(root, *SITE).stdout
    assert "upgrading in place" in out
    assert "accounts exist already" in out
    assert "password:" not in out
    assert digest(root, skip=("opt/village-gateway",)) == outside_venv
    assert subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout.strip() == version
