#!/usr/bin/env bash
# Install the Debian packages the test suite starts for real on 127.0.0.1.
set -euo pipefail
PACKAGES=(mosquitto influxdb victoria-metrics socat chromium shellcheck python3-venv systemd openssl)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: all present (${PACKAGES[*]})"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# apt must not leave these running on the machine: the tests start their own on free ports.
for svc in mosquitto influxdb victoria-metrics; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" || true
    fi
done
