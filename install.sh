#!/usr/bin/env bash
# install.sh — install (or upgrade, or remove) village-gateway on Raspberry Pi OS / Debian 12.
#
#   sudo ./install.sh                         install or upgrade in place
#   sudo ./install.sh --with-influxdb --with-mosquitto
#   sudo ./install.sh --uninstall [--purge]   remove the service and the venv (--purge: config and data too)
#   ./install.sh --dry-run                    print what would be done, change nothing
#   ./install.sh --root DIR --no-venv         install into a directory tree (tests, image building)
#
# Idempotent: a second run upgrades the software and changes nothing else. The configuration
# /etc/village-gateway/gateway.toml is written once and never overwritten.
# Run ./install.sh --help for every option.
set -euo pipefail

readonly APP=village-gateway
readonly SERVICE_USER=village-gateway
readonly DEVICE_GROUPS=(gpio dialout bluetooth)
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SRC_DIR

ROOT=/
DRY_RUN=0
ACTION=install
PURGE=0
WITH_INFLUXDB=0
WITH_MOSQUITTO=0
MAKE_VENV=1
WHEELHOUSE=""
NO_START=0
SITE_ID=""
SITE_NAME=""
LATITUDE=""
LONGITUDE=""
TIMEZONE="Europe/Paris"
WEB_LISTEN="127.0.0.1:8080"
REMOTE_TOKEN_FILE=""
PYTHON=${VG_PYTHON:-python3}
OS_RELEASE=${VG_OS_RELEASE:-/etc/os-release}

usage() {
    cat <<EOF
Usage: sudo ./install.sh [OPTIONS]

Install or upgrade:
  --site-id ID            the village's identifier (lower-case letters, digits, - and _), e.g. saint-martin
  --site-name NAME        its name as shown on the admin page
  --latitude DEG          the mairie's latitude  (decimal degrees, e.g. 47.39)
  --longitude DEG         the mairie's longitude (decimal degrees, e.g. 0.98)
  --timezone ZONE         default Europe/Paris
  --web-listen HOST:PORT  admin page address, default 127.0.0.1:8080 (0.0.0.0:8080 for the mairie's network)
  --with-influxdb         also install InfluxDB 1.x, bound to 127.0.0.1, with a "village" database
  --with-mosquitto        also install the mosquitto MQTT broker, bound to 127.0.0.1
  --remote-token-file F   store the intercommunality's InfluxDB token from file F (readable by the service only)
  --wheelhouse DIR        install Python packages from DIR only (offline install)
  --no-start              do not enable and start the service
  (the site questions are asked interactively when not given; without a terminal, defaults are used
   and the installer says which ones to edit)

Remove:
  --uninstall             stop and remove the service and the software; keep configuration and data
  --purge                 with --uninstall: also remove configuration, data and the service user

Testing and image building:
  --dry-run               print what would be done and change nothing
  --root DIR              install into DIR instead of / (apt, useradd, chown and systemctl are skipped
                          and printed instead)
  --no-venv               do not create the Python environment (tests)
  -h, --help              this help
EOF
}

say() { printf '%s\n' "==> $*"; }
note() { printf '%s\n' "    $*"; }
warn() { printf '%s\n' "WARNING: $*" >&2; }
die() {
    printf '%s\n' "ERROR: $*" >&2
    exit 1
}

# An action on the host system (packages, users, ownership, services): skipped under --root.
host() {
    if [ "$ROOT" != / ]; then
        printf '    skip (--root):%s\n' "$(printf ' %q' "$@")"
    elif [ "$DRY_RUN" -eq 1 ]; then
        printf '    would run:%s\n' "$(printf ' %q' "$@")"
    else
        printf '    +%s\n' "$(printf ' %q' "$@")"
        "$@"
    fi
}

# An action on the installed tree (files and directories under $ROOT).
tree() {
    if [ "$DRY_RUN" -eq 1 ]; then
        printf '    would run:%s\n' "$(printf ' %q' "$@")"
    else
        "$@"
    fi
}

# put SOURCE MODE DEST: install a file; say whether it changed.
put() {
    local src=$1 mode=$2 dest=$3
    if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
        note "unchanged $dest"
        return
    fi
    note "writing $dest (mode $mode)"
    tree install -D -m "$mode" "$src" "$dest"
}

# put_text MODE DEST <<'EOF' ... EOF: install the text on standard input as a file, like put.
put_text() {
    local mode=$1 dest=$2 text
    text=$(mktemp)
    cat >"$text"
    put "$text" "$mode" "$dest"
    rm -f "$text"
}

# dir MODE PATH: create a directory with a mode.
dir() {
    local mode=$1 path=$2
    if [ -d "$path" ] && [ "$(stat -c %a "$path")" = "${mode#0}" ]; then
        return
    fi
    note "directory $path (mode $mode)"
    tree install -d -m "$mode" "$path"
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --site-id) SITE_ID=${2:?--site-id needs a value}; shift ;;
        --site-name) SITE_NAME=${2:?--site-name needs a value}; shift ;;
        --latitude) LATITUDE=${2:?--latitude needs a value}; shift ;;
        --longitude) LONGITUDE=${2:?--longitude needs a value}; shift ;;
        --timezone) TIMEZONE=${2:?--timezone needs a value}; shift ;;
        --web-listen) WEB_LISTEN=${2:?--web-listen needs a value}; shift ;;
        --remote-token-file) REMOTE_TOKEN_FILE=${2:?--remote-token-file needs a file}; shift ;;
        --wheelhouse) WHEELHOUSE=${2:?--wheelhouse needs a directory}; shift ;;
        --with-influxdb) WITH_INFLUXDB=1 ;;
        --with-mosquitto) WITH_MOSQUITTO=1 ;;
        --no-start) NO_START=1 ;;
        --uninstall) ACTION=uninstall ;;
        --purge) PURGE=1 ;;
        --dry-run) DRY_RUN=1 ;;
        --root) ROOT=${2:?--root needs a directory}; shift ;;
        --no-venv) MAKE_VENV=0 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
        esac
        shift
    done
    if [ "$PURGE" -eq 1 ] && [ "$ACTION" != uninstall ]; then
        die "--purge only goes with --uninstall"
    fi
    if [ "$ROOT" != / ]; then
        mkdir -p "$ROOT"
        ROOT=$(cd "$ROOT" && pwd)
        NO_START=1
    fi
}

# Paths inside the target tree.
set_paths() {
    local r=${ROOT%/}
    VENV=$r/opt/$APP
    CONF_DIR=$r/etc/$APP
    CONF=$CONF_DIR/gateway.toml
    SECRETS=$CONF_DIR/secrets
    STATE=$r/var/lib/$APP
    UNIT=$r/etc/systemd/system/$APP.service
    DOC_DIR=$r/usr/local/share/doc/$APP
    BIN_LINK=$r/usr/local/bin/$APP
    INFLUX_DROPIN=$r/etc/systemd/system/influxdb.service.d/$APP.conf
    MOSQUITTO_CONF=$r/etc/mosquitto/conf.d/$APP.conf
}

# os_value KEY: a value of /etc/os-release, unquoted (read, never sourced).
os_value() {
    awk -F= -v key="$1" '$1 == key { gsub(/^"|"$/, "", $2); print $2; exit }' "$OS_RELEASE"
}

check_system() {
    say "Checking the system"
    [ -r "$OS_RELEASE" ] || die "cannot read $OS_RELEASE: is this Raspberry Pi OS or Debian?"
    local id version like
    id=$(os_value ID)
    version=$(os_value VERSION_ID)
    like=$(os_value ID_LIKE)
    case "$id $like" in
    *debian* | *raspbian*) ;;
    *) die "this is '$id $version'; village-gateway installs on Raspberry Pi OS or Debian 12 (bookworm)" ;;
    esac
    [ "$version" = 12 ] || die "this is $id $version; village-gateway needs Raspberry Pi OS / Debian 12 (bookworm)"
    note "system: $id $version"
    if command -v dpkg >/dev/null; then
        local arch
        arch=$(dpkg --print-architecture)
        case $arch in
        arm64 | armhf) note "architecture: $arch (Raspberry Pi)" ;;
        *) note "architecture: $arch (not a Raspberry Pi: fine for testing; GPIO and Bluetooth may be absent)" ;;
        esac
    fi
    command -v "$PYTHON" >/dev/null || die "python3 is missing: sudo apt-get install python3"
    local pyver
    pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
        die "cannot run $PYTHON"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
        die "Python $pyver found; village-gateway needs Python 3.11 or newer (Debian 12 has 3.11)"
    note "python: $pyver"
    if [ "$ROOT" = / ] && [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
        die "run it as root: sudo ./install.sh $*"
    fi
}

install_packages() {
    say "Debian packages"
    local packages=(python3-venv python3-pip)
    [ "$WITH_INFLUXDB" -eq 1 ] && packages+=(influxdb influxdb-client curl)
    [ "$WITH_MOSQUITTO" -eq 1 ] && packages+=(mosquitto)
    host apt-get update -qq
    host env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
}

create_user() {
    say "Service user $SERVICE_USER (groups: ${DEVICE_GROUPS[*]})"
    if [ "$ROOT" = / ] && getent passwd "$SERVICE_USER" >/dev/null; then
        note "user exists"
    else
        host useradd --system --user-group --home-dir /var/lib/$APP --no-create-home \
            --shell /usr/sbin/nologin --comment "village-gateway service" "$SERVICE_USER"
    fi
    local group
    for group in "${DEVICE_GROUPS[@]}"; do
        if [ "$ROOT" = / ] && ! getent group "$group" >/dev/null; then
            note "group $group does not exist on this system: creating it (the device rules may not use it)"
        fi
        if [ "$ROOT" != / ] || ! getent group "$group" >/dev/null; then
            host groupadd --system -f "$group"
        fi
        if [ "$ROOT" = / ] && id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
            continue
        fi
        host usermod -a -G "$group" "$SERVICE_USER"
    done
}

install_venv() {
    say "Software in $VENV"
    if [ "$MAKE_VENV" -eq 0 ]; then
        note "skipped (--no-venv)"
        return
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        tree "$PYTHON" -m venv "$VENV"
    else
        note "upgrading in place"
    fi
    # Build from a clean copy so the source tree gets no build/ or egg-info droppings.
    local build pip_args=(--quiet --no-input --disable-pip-version-check)
    [ -n "$WHEELHOUSE" ] && pip_args+=(--no-index --find-links "$WHEELHOUSE")
    if [ "$DRY_RUN" -eq 1 ]; then
        note "would run: $VENV/bin/pip install ${pip_args[*]} $SRC_DIR"
        return
    fi
    build=$(mktemp -d)
    # shellcheck disable=SC2064  # expand $build now: the trap must remove this very directory
    trap "rm -rf '$build'" EXIT
    tar -C "$SRC_DIR" --exclude=.git --exclude=.venv --exclude=build --exclude='*.egg-info' \
        --exclude=__pycache__ --exclude=var --exclude=test-artifacts -cf - . | tar -C "$build" -xf -
    "$VENV/bin/pip" install "${pip_args[@]}" --upgrade "$build"
    rm -rf "$build"
    trap - EXIT
    note "installed: $("$VENV/bin/$APP" --version)"
}

render_template() {
    local out=$1 influx="# " mqtt="# "
    [ "$WITH_INFLUXDB" -eq 1 ] && influx=""
    [ "$WITH_MOSQUITTO" -eq 1 ] && mqtt=""
    sed -e "s|@SITE_ID@|$SITE_ID|g" -e "s|@SITE_NAME@|$SITE_NAME|g" -e "s|@TIMEZONE@|$TIMEZONE|g" \
        -e "s|@LATITUDE@|$LATITUDE|g" -e "s|@LONGITUDE@|$LONGITUDE|g" -e "s|@WEB_LISTEN@|$WEB_LISTEN|g" \
        -e "s|^@INFLUX@|$influx|" -e "s|^@MQTT@|$mqtt|" \
        "$SRC_DIR/examples/gateway.toml.template" >"$out"
}

ask() {
    local var=$1 prompt=$2 default=$3 answer
    if [ -n "${!var}" ]; then
        return
    fi
    if [ -t 0 ] && [ "$DRY_RUN" -eq 0 ]; then
        read -r -p "    $prompt [$default]: " answer
        printf -v "$var" '%s' "${answer:-$default}"
    else
        printf -v "$var" '%s' "$default"
        DEFAULTED+=("$prompt")
    fi
}

install_config() {
    say "Configuration $CONF"
    dir 0755 "$CONF_DIR"
    if [ -e "$CONF" ]; then
        note "kept as it is (install.sh never overwrites it)"
    else
        DEFAULTED=()
        ask SITE_ID "village identifier (a-z, 0-9, -)" "$(hostname -s | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_\n-' -)"
        ask SITE_NAME "village name" "Mairie"
        ask LATITUDE "latitude of the mairie (e.g. 47.39)" "46.6"
        ask LONGITUDE "longitude of the mairie (e.g. 0.98)" "2.4"
        [[ $SITE_ID =~ ^[a-z0-9][a-z0-9_-]{0,62}$ ]] ||
            die "'$SITE_ID' is not a valid identifier: lower-case letters, digits, - and _ (e.g. saint-martin)"
        [[ $LATITUDE =~ ^-?[0-9]+(\.[0-9]+)?$ && $LONGITUDE =~ ^-?[0-9]+(\.[0-9]+)?$ ]] ||
            die "latitude and longitude are decimal degrees, e.g. 47.39 and 0.98"
        local forbidden='["|&\\]'
        if [[ $SITE_NAME =~ $forbidden ]]; then
            die "the village name may not contain \" | & or \\"
        fi
        local rendered
        rendered=$(mktemp)
        render_template "$rendered"
        note "writing $CONF (site $SITE_ID, mode 0640)"
        tree install -m 0640 "$rendered" "$CONF"
        rm -f "$rendered"
        if [ "${#DEFAULTED[@]}" -gt 0 ]; then
            warn "no terminal to ask; defaults used for: ${DEFAULTED[*]} — edit $CONF"
        fi
    fi
    host chown "root:$SERVICE_USER" "/etc/$APP" "/etc/$APP/gateway.toml"
    [ -e "$CONF" ] && tree chmod 0640 "$CONF"
    dir 0750 "$SECRETS"
    host chown "root:$SERVICE_USER" "/etc/$APP/secrets"
    if [ -n "$REMOTE_TOKEN_FILE" ]; then
        [ -r "$REMOTE_TOKEN_FILE" ] || die "cannot read the token file $REMOTE_TOKEN_FILE"
        put "$REMOTE_TOKEN_FILE" 0600 "$SECRETS/remote-influx.token"
        host chown "$SERVICE_USER:$SERVICE_USER" "/etc/$APP/secrets/remote-influx.token"
    fi
}

install_state() {
    say "State directory $STATE"
    dir 0750 "$STATE"
    host chown "$SERVICE_USER:$SERVICE_USER" "/var/lib/$APP"
}

install_unit() {
    say "systemd unit $UNIT"
    put "$SRC_DIR/systemd/$APP.service" 0644 "$UNIT"
    put "$SRC_DIR/docs/install.md" 0644 "$DOC_DIR/install.md"
    if [ "$MAKE_VENV" -eq 1 ]; then
        if [ "$(readlink "$BIN_LINK" 2>/dev/null || true)" != "/opt/$APP/bin/$APP" ]; then
            note "link $BIN_LINK -> /opt/$APP/bin/$APP"
            tree mkdir -p "$(dirname "$BIN_LINK")"
            tree ln -sfn "/opt/$APP/bin/$APP" "$BIN_LINK"
        fi
    fi
    host systemctl daemon-reload
}

install_influxdb() {
    [ "$WITH_INFLUXDB" -eq 1 ] || return 0
    say "InfluxDB 1.x on 127.0.0.1:8086, database village"
    put_text 0644 "$INFLUX_DROPIN" <<'EOF'
# Written by village-gateway's install.sh: InfluxDB listens on this machine only.
[Service]
Environment=INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:8086
Environment=INFLUXDB_BIND_ADDRESS=127.0.0.1:8088
Environment=INFLUXDB_REPORTING_DISABLED=true
EOF
    host systemctl daemon-reload
    host systemctl enable --now influxdb.service
    host systemctl restart influxdb.service
    # shellcheck disable=SC2016  # expanded by the inner shell
    host sh -c 'for i in $(seq 60); do curl -sf http://127.0.0.1:8086/ping && exit 0; sleep 1; done; exit 1'
    host influx -host 127.0.0.1 -execute 'CREATE DATABASE village'
}

install_mosquitto() {
    [ "$WITH_MOSQUITTO" -eq 1 ] || return 0
    say "mosquitto on 127.0.0.1:1883"
    put_text 0644 "$MOSQUITTO_CONF" <<'EOF'
# Written by village-gateway's install.sh: the broker listens on this machine only.
listener 1883 127.0.0.1
allow_anonymous true
EOF
    host systemctl enable mosquitto.service
    host systemctl restart mosquitto.service
}

create_admin() {
    say "Admin account"
    if [ -e "$STATE/users.json" ]; then
        note "accounts exist already (sudo village-gateway user list)"
        return
    fi
    local add=(user --state-dir "$STATE" add admin --role admin --password-stdin)
    if [ "$MAKE_VENV" -eq 0 ] || [ "$DRY_RUN" -eq 1 ]; then
        note "skip: would run: village-gateway ${add[*]}  (as $SERVICE_USER, password generated and printed once)"
        return
    fi
    local password as_user=()
    password=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(12))')
    if [ "$ROOT" = / ]; then
        as_user=(runuser -u "$SERVICE_USER" --)
    else
        note "(--root: the account is created as $(id -un), not as $SERVICE_USER)"
    fi
    printf '%s\n' "$password" | "${as_user[@]}" "$VENV/bin/$APP" "${add[@]}" >/dev/null ||
        die "could not create the admin account (see above)"
    cat <<EOF

    ┌──────────────────────────────────────────────────────────────┐
      Admin page account (shown ONCE — write it down now):
        user:     admin
        password: $password
      Change it later with:  sudo village-gateway user passwd admin
    └──────────────────────────────────────────────────────────────┘

EOF
}

validate_config() {
    [ -e "$CONF" ] || return 0
    if [ "$MAKE_VENV" -eq 1 ] && [ -x "$VENV/bin/$APP" ]; then
        say "Checking the configuration"
        "$VENV/bin/$APP" check-config "$CONF" ||
            die "$CONF is invalid (see above): fix it, then run the installer again"
    fi
}

start_service() {
    if [ "$NO_START" -eq 1 ]; then
        host systemctl enable "$APP.service"
        return
    fi
    say "Starting the service"
    host systemctl enable "$APP.service"
    host systemctl restart "$APP.service"
    if [ "$DRY_RUN" -eq 0 ] && ! systemctl is-active --quiet "$APP.service"; then
        warn "the service did not start: journalctl -u $APP -n 50   and   sudo village-gateway doctor"
    fi
}

uninstall() {
    say "Removing the service and the software"
    host systemctl disable --now "$APP.service" || warn "the service was not running or not installed"
    if [ -e "$UNIT" ]; then
        note "removing $UNIT"
        tree rm -f "$UNIT"
    fi
    host systemctl daemon-reload
    if [ -e "$VENV" ] || [ -L "$BIN_LINK" ]; then
        note "removing $VENV"
        tree rm -rf "$VENV" "$BIN_LINK"
    fi
    if [ -e "$DOC_DIR" ]; then
        tree rm -rf "$DOC_DIR"
    fi
    if [ "$PURGE" -eq 1 ]; then
        say "Purging configuration, data and the service user"
        tree rm -rf "$CONF_DIR" "$STATE"
        host userdel "$SERVICE_USER" || warn "user $SERVICE_USER was already gone"
    else
        note "kept: $CONF_DIR (configuration and secrets) and $STATE (journal, accounts); --purge removes them"
    fi
    note "InfluxDB and mosquitto, if installed, are left as they are (apt-get remove them if unwanted)"
}

main() {
    parse_args "$@"
    set_paths
    [ "$DRY_RUN" -eq 1 ] && say "Dry run: nothing will be changed"
    [ "$ROOT" != / ] && say "Installing into the tree $ROOT (host changes are printed, not made)"
    check_system "$@"
    if [ "$ACTION" = uninstall ]; then
        uninstall
        say "Done"
        return
    fi
    install_packages
    create_user
    install_venv
    install_config
    install_state
    install_unit
    install_influxdb
    install_mosquitto
    validate_config
    create_admin
    start_service
    say "Done. Next: sudo village-gateway doctor   (then open http://${WEB_LISTEN}/ for the admin page)"
}

main "$@"
