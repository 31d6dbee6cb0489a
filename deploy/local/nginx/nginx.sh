#!/usr/bin/env bash
# Local API gateway (nginx) in front of the Patron services. Runs a private
# nginx master with its own prefix, pid file and logs; a system nginx, if
# any, is left alone.
#
# Usage: nginx.sh {install|start|stop|restart|status|reload|render}
#
# Environment (defaults):
#   PATRON_STACK_DIR            <repo>/.stack  prefix: nginx/, logs: logs/nginx-*.log
#   PATRON_GATEWAY_PORT         8080           gateway listener (127.0.0.1)
#   PATRON_PROFILE_PORT         8001
#   PATRON_IDENTITY_PORT        8002
#   PATRON_SEGMENTATION_PORT    8003
#   PATRON_LOYALTY_PORT         8004
#   PATRON_NOTIFICATIONS_PORT   8005
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"

STACK_DIR="${PATRON_STACK_DIR:-$REPO_ROOT/.stack}"
GATEWAY_PORT="${PATRON_GATEWAY_PORT:-8080}"
PROFILE_PORT="${PATRON_PROFILE_PORT:-8001}"
IDENTITY_PORT="${PATRON_IDENTITY_PORT:-8002}"
SEGMENTATION_PORT="${PATRON_SEGMENTATION_PORT:-8003}"
LOYALTY_PORT="${PATRON_LOYALTY_PORT:-8004}"
NOTIFICATIONS_PORT="${PATRON_NOTIFICATIONS_PORT:-8005}"

TEMPLATE="$SCRIPT_DIR/nginx.conf.template"
PREFIX="$STACK_DIR/nginx"
CONF="$PREFIX/nginx.conf"
PID_FILE="$PREFIX/nginx.pid"
LOG_DIR="$STACK_DIR/logs"
ERROR_LOG="$LOG_DIR/nginx-error.log"

log() { printf '[nginx] %s\n' "$*"; }
die() { printf '[nginx] ERROR: %s\n' "$*" >&2; exit 1; }

# `apt-get update` at most once per few hours across the local stack scripts.
APT_STAMP="${TMPDIR:-/tmp}/patron-apt-update.stamp"
apt_update_once() {
    if [[ -n "$(find "$APT_STAMP" -mmin -360 2>/dev/null)" ]]; then
        return 0
    fi
    apt-get update
    touch "$APT_STAMP"
}

nginx_bin() {
    command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}

system_nginx_pid() {
    local pid
    pid="$(cat /run/nginx.pid 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
    return 0
}

cmd_install() {
    if [[ -n "$(nginx_bin)" ]]; then
        log "nginx present: $(nginx_bin)"
        return 0
    fi
    [[ "$(id -u)" == 0 ]] || die "nginx is not installed and installing it needs root"
    local before; before="$(system_nginx_pid)"
    log "installing nginx from Debian packages ..."
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx
    [[ -n "$(nginx_bin)" ]] || die "nginx package installed but no nginx binary found"
    # The package may start a system nginx on port 80. Stop it only if it was
    # started by this install; it is not needed by the local stack.
    local after; after="$(system_nginx_pid)"
    if [[ -z "$before" && -n "$after" ]]; then
        log "stopping the system nginx that the package started (pid $after)"
        service nginx stop >/dev/null 2>&1 || kill -QUIT "$after" 2>/dev/null || true
    fi
    log "installed $("$(nginx_bin)" -v 2>&1)"
}

render() {
    local p
    for p in "$GATEWAY_PORT" "$PROFILE_PORT" "$IDENTITY_PORT" "$SEGMENTATION_PORT" \
        "$LOYALTY_PORT" "$NOTIFICATIONS_PORT"; do
        [[ "$p" =~ ^[0-9]+$ ]] || die "invalid port: $p"
    done
    mkdir -p "$PREFIX" "$PREFIX/tmp" "$LOG_DIR"
    local esc_prefix esc_logs
    esc_prefix="$(printf '%s' "$PREFIX" | sed 's/[&|\\]/\\&/g')"
    esc_logs="$(printf '%s' "$LOG_DIR" | sed 's/[&|\\]/\\&/g')"
    sed -e "s|@PREFIX@|$esc_prefix|g" \
        -e "s|@LOG_DIR@|$esc_logs|g" \
        -e "s|@GATEWAY_PORT@|$GATEWAY_PORT|g" \
        -e "s|@PROFILE_PORT@|$PROFILE_PORT|g" \
        -e "s|@IDENTITY_PORT@|$IDENTITY_PORT|g" \
        -e "s|@SEGMENTATION_PORT@|$SEGMENTATION_PORT|g" \
        -e "s|@LOYALTY_PORT@|$LOYALTY_PORT|g" \
        -e "s|@NOTIFICATIONS_PORT@|$NOTIFICATIONS_PORT|g" \
        "$TEMPLATE" >"$CONF.tmp"
    if grep -q '@[A-Z_]*@' "$CONF.tmp"; then
        die "unrendered placeholder in $TEMPLATE: $(grep -o '@[A-Z_]*@' "$CONF.tmp" | head -n1)"
    fi
    mv "$CONF.tmp" "$CONF"
}

check_config() {
    local bin="$1" out
    if ! out="$("$bin" -t -q -p "$PREFIX/" -e "$ERROR_LOG" -c "$CONF" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "invalid nginx configuration ($CONF)"
    fi
}

# Prints the master pid if our pid file points at a live nginx master.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'nginx: master' || return 1
    printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
    local pid
    if pid="$(running_pid)"; then
        log "already running (pid $pid) on http://127.0.0.1:$GATEWAY_PORT"
        return 0
    fi
    [[ -n "$(nginx_bin)" ]] || cmd_install
    local bin; bin="$(nginx_bin)"
    if port_open "$GATEWAY_PORT"; then
        die "port $GATEWAY_PORT is in use by another process (set PATRON_GATEWAY_PORT)"
    fi
    rm -f "$PID_FILE"
    render
    check_config "$bin"
    "$bin" -p "$PREFIX/" -e "$ERROR_LOG" -c "$CONF" \
        || { tail -n 20 "$ERROR_LOG" >&2 || true; die "nginx failed to start"; }
    # nginx binds its port before it daemonises and renames itself "nginx: master", so
    # wait for both the listening port and the master's pid file and title.
    local i
    for ((i = 0; i < 100; i++)); do
        running_pid >/dev/null && port_open "$GATEWAY_PORT" && break
        sleep 0.1
    done
    pid="$(running_pid)" || { tail -n 20 "$ERROR_LOG" >&2 || true; die "nginx exited right after start"; }
    port_open "$GATEWAY_PORT" || die "nginx (pid $pid) is not listening on 127.0.0.1:$GATEWAY_PORT"
    log "running (pid $pid) on http://127.0.0.1:$GATEWAY_PORT -> profile:$PROFILE_PORT identity:$IDENTITY_PORT" \
        "segmentation:$SEGMENTATION_PORT loyalty:$LOYALTY_PORT notifications:$NOTIFICATIONS_PORT"
}

cmd_reload() {
    local pid
    if ! pid="$(running_pid)"; then
        log "not running; starting"
        cmd_start
        return 0
    fi
    render
    check_config "$(nginx_bin)"
    kill -HUP "$pid"
    log "reloaded (pid $pid)"
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        log "not running"
        return 0
    fi
    log "stopping (pid $pid) ..."
    # The master is a session/process-group leader (it daemonized with
    # setsid); its workers share that group.
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "still alive after 10 s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Workers exit with their master; make sure none is left behind.
    for ((i = 0; i < 50; i++)); do
        pgrep -g "$pid" >/dev/null 2>&1 || break
        sleep 0.1
    done
    pkill -KILL -g "$pid" 2>/dev/null || true
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        log "running (pid $pid) on http://127.0.0.1:$GATEWAY_PORT"
        return 0
    fi
    log "stopped"
    return 3
}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    reload) cmd_reload ;;
    render) render; log "rendered $CONF" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
