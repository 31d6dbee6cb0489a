#!/usr/bin/env bash
# Private PostgreSQL cluster for local development and tests of Patron.
# It never touches the distribution's own cluster (port 5432): it has its own
# data directory, port, socket directory and log.
#
# Usage: postgres.sh {install|start|stop|restart|status|wait|create-dbs|dsn|destroy}
#
# Environment (defaults):
#   PATRON_STACK_DIR     <repo>/.stack   logs go to $PATRON_STACK_DIR/logs/postgres.log
#   PATRON_PG_PORT       55432           TCP port, 127.0.0.1 only
#   PATRON_PG_FAST       0               1 = fsync/synchronous_commit/full_page_writes off
#                                        (crash-unsafe; for CI and tests only)
#   PATRON_PG_DATABASES  patron_profile patron_identity patron_segmentation
#                        patron_loyalty patron_notifications
#   PATRON_PG_WAIT_TIMEOUT 30            seconds `wait` allows
#
# Data lives in $PATRON_STACK_DIR/postgres/data when the server's OS user can
# reach that directory, otherwise (e.g. a checkout under /root, mode 700) in
# /var/lib/patron-postgres/<hash of $PATRON_STACK_DIR>/data, with a symlink
# $PATRON_STACK_DIR/postgres pointing there. `postgres.sh status` prints it.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"

STACK_DIR="${PATRON_STACK_DIR:-$REPO_ROOT/.stack}"
PORT="${PATRON_PG_PORT:-55432}"
FAST="${PATRON_PG_FAST:-0}"
DATABASES="${PATRON_PG_DATABASES:-patron_profile patron_identity patron_segmentation patron_loyalty patron_notifications}"
WAIT_TIMEOUT="${PATRON_PG_WAIT_TIMEOUT:-30}"

SUPERUSER=patron
SUPERUSER_PASSWORD=patron
APP_ROLE=patron_app
APP_PASSWORD=patron_app
HOST=127.0.0.1
LOG_DIR="$STACK_DIR/logs"
LOG_FILE="$LOG_DIR/postgres.log"
EXTERNAL_ROOT=/var/lib/patron-postgres

log() { printf '[postgres] %s\n' "$*"; }
die() { printf '[postgres] ERROR: %s\n' "$*" >&2; exit 1; }

# `apt-get update` at most once per few hours across the local stack scripts.
APT_STAMP="${TMPDIR:-/tmp}/patron-apt-update.stamp"
apt_update_once() {
    if [[ -n "$(find "$APT_STAMP" -mmin -360 2>/dev/null)" ]]; then
        return 0
    fi
    apt-get update
    touch "$APT_STAMP"
}

dsn() { printf 'postgresql://%s:%s@%s:%s/%s\n' "$SUPERUSER" "$SUPERUSER_PASSWORD" "$HOST" "$PORT" "${1:-postgres}"; }

# ------------------------------------------------------------- binaries ----
# Newest installed server, unless an existing cluster pins its major version.
find_bindir() {
    local want="${1:-}" d
    if [[ -n "$want" ]]; then
        d="/usr/lib/postgresql/$want/bin"
        [[ -x "$d/postgres" ]] && printf '%s\n' "$d"
        return 0
    fi
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
    [[ -n "$d" && -x "$d/postgres" ]] && printf '%s\n' "$d"
    return 0
}

cmd_install() {
    if [[ -n "$(find_bindir)" ]]; then
        log "server binaries present: $(find_bindir)"
    else
        [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed and installing it needs root"
        log "installing PostgreSQL from Debian packages ..."
        apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            postgresql postgresql-contrib
        [[ -n "$(find_bindir)" ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/postgres"
        log "installed $(find_bindir) (the distribution's own cluster, if any, is left alone)"
    fi
    if ! id postgres >/dev/null 2>&1 && ! id patron >/dev/null 2>&1; then
        log "creating system user 'patron' to own the cluster"
        useradd --system --user-group --home-dir "$EXTERNAL_ROOT" --shell /usr/sbin/nologin patron
    fi
}

# ---------------------------------------------------------------- layout ----
resolve_layout() {
    if id postgres >/dev/null 2>&1; then
        PG_USER=postgres
    elif id patron >/dev/null 2>&1; then
        PG_USER=patron
    else
        PG_USER=""
    fi
    local stack_real
    mkdir -p "$STACK_DIR" "$LOG_DIR"
    stack_real="$(cd "$STACK_DIR" && pwd -P)"
    if [[ -n "$PG_USER" ]] && as_pg test -x "$stack_real" -a -r "$stack_real"; then
        PG_HOME="$stack_real/postgres"
    else
        PG_HOME="$EXTERNAL_ROOT/$(printf '%s' "$stack_real" | sha256sum | cut -c1-12)"
    fi
    DATA_DIR="$PG_HOME/data"
    SOCKET_DIR="$PG_HOME/run"
}

as_pg() { (cd / && runuser -u "$PG_USER" -- "$@"); }

prepare_dirs() {
    [[ -n "$PG_USER" ]] || die "no 'postgres' OS user; run: $0 install"
    mkdir -p "$PG_HOME"
    chown "$PG_USER:" "$PG_HOME"
    chmod 700 "$PG_HOME"
    as_pg mkdir -p "$SOCKET_DIR"
    if [[ "$PG_HOME" == "$EXTERNAL_ROOT"/* ]]; then
        chmod 755 "$EXTERNAL_ROOT"
        printf '%s\n' "$STACK_DIR" >"$EXTERNAL_ROOT/$(basename "$PG_HOME").owner"
        if [[ ! -e "$STACK_DIR/postgres" ]]; then
            ln -s "$PG_HOME" "$STACK_DIR/postgres"
        fi
    fi
}

cluster_bindir() {
    local bindir
    if [[ -f "$DATA_DIR/PG_VERSION" ]]; then
        bindir="$(find_bindir "$(cat "$DATA_DIR/PG_VERSION")")"
        [[ -n "$bindir" ]] || die "cluster in $DATA_DIR needs PostgreSQL $(cat "$DATA_DIR/PG_VERSION") binaries"
    else
        bindir="$(find_bindir)"
        [[ -n "$bindir" ]] || die "PostgreSQL is not installed; run: $0 install"
    fi
    printf '%s\n' "$bindir"
}

is_running() {
    [[ -f "$DATA_DIR/PG_VERSION" ]] || return 1
    local bindir; bindir="$(cluster_bindir)"
    as_pg "$bindir/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

init_cluster() {
    local bindir="$1" pwfile="$PG_HOME/.pwfile"
    log "initialising cluster in $DATA_DIR"
    printf '%s\n' "$SUPERUSER_PASSWORD" >"$pwfile"
    chown "$PG_USER:" "$pwfile"
    chmod 600 "$pwfile"
    if ! as_pg "$bindir/initdb" -D "$DATA_DIR" -U "$SUPERUSER" --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >>"$LOG_FILE" 2>&1; then
        rm -f "$pwfile"
        tail -n 20 "$LOG_FILE" >&2
        as_pg rm -rf "$DATA_DIR"
        die "initdb failed"
    fi
    rm -f "$pwfile"
    printf "\ninclude_if_exists = 'patron.conf'\n" | as_pg tee -a "$DATA_DIR/postgresql.conf" >/dev/null
}

write_config() {
    local durability="on"
    [[ "$FAST" == 1 ]] && durability="off"
    as_pg tee "$DATA_DIR/patron.conf" >/dev/null <<EOF
# Generated by deploy/local/postgres/postgres.sh on every start.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 300
shared_buffers = 1GB
work_mem = 8MB
maintenance_work_mem = 128MB
effective_cache_size = 1GB
# Write-heavy work (a million-row import writes about 5 GB of WAL): room for the WAL of
# several batches before a backend must write it out itself, and checkpoints (each
# followed by full-page images) no more often than every 4 GB.
wal_buffers = 64MB
max_wal_size = 4GB
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
# PATRON_PG_FAST=$FAST
fsync = $durability
synchronous_commit = $durability
full_page_writes = $durability
log_destination = 'stderr'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = -1
log_timezone = 'UTC'
timezone = 'UTC'
EOF
}

cmd_start() {
    resolve_layout
    if [[ -n "$PG_USER" ]] && is_running; then
        log "already running on $HOST:$PORT (data $DATA_DIR)"
        return 0
    fi
    [[ -n "$(find_bindir)" ]] || cmd_install
    resolve_layout
    if port_open "$PORT"; then
        die "port $PORT is in use by another process (set PATRON_PG_PORT)"
    fi
    prepare_dirs
    local bindir; bindir="$(cluster_bindir)"
    [[ -f "$DATA_DIR/PG_VERSION" ]] || init_cluster "$bindir"
    write_config
    log "starting PostgreSQL $(cat "$DATA_DIR/PG_VERSION") on $HOST:$PORT (fast=$FAST, data $DATA_DIR)"
    # No -l: the server inherits this root-opened log file, so the log can
    # live in a directory the server user cannot write to.
    printf '\n===== start %s =====\n' "$(date -Is)" >>"$LOG_FILE"
    if ! as_pg "$bindir/pg_ctl" -D "$DATA_DIR" -w -t "$WAIT_TIMEOUT" start >>"$LOG_FILE" 2>&1; then
        tail -n 30 "$LOG_FILE" >&2
        die "PostgreSQL did not start (log: $LOG_FILE)"
    fi
    cmd_wait
    cmd_create_dbs
    log "superuser DSN: $(dsn)"
}

cmd_wait() {
    resolve_layout
    local bindir; bindir="$(cluster_bindir)"
    local deadline=$((SECONDS + WAIT_TIMEOUT))
    until "$bindir/pg_isready" -q -h "$HOST" -p "$PORT" -t 2; do
        if ((SECONDS >= deadline)); then
            tail -n 30 "$LOG_FILE" >&2 || true
            die "PostgreSQL on $HOST:$PORT not ready within ${WAIT_TIMEOUT} s"
        fi
        sleep 0.3
    done
    log "ready on $HOST:$PORT"
}

psql_su() {
    local db="$1"; shift
    PGPASSWORD="$SUPERUSER_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 \
        -h "$HOST" -p "$PORT" -U "$SUPERUSER" -d "$db" "$@"
}

cmd_create_dbs() {
    command -v psql >/dev/null || die "psql not found; run: $0 install"
    local db bindir; bindir="$(find_bindir)"
    if [[ -n "$bindir" ]] && ! "$bindir/pg_isready" -q -h "$HOST" -p "$PORT" -t 3; then
        die "no server on $HOST:$PORT; run: $0 start"
    fi
    psql_su postgres <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
        CREATE ROLE $APP_ROLE LOGIN;
    END IF;
END
\$\$;
ALTER ROLE $APP_ROLE WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '$APP_PASSWORD';
SQL
    for db in $DATABASES; do
        [[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "invalid database name: $db"
        if [[ -z "$(psql_su postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
            psql_su postgres -c "CREATE DATABASE $db OWNER $SUPERUSER ENCODING 'UTF8' TEMPLATE template0"
            log "created database $db"
        fi
        psql_su "$db" <<SQL
GRANT CONNECT, TEMPORARY ON DATABASE $db TO $APP_ROLE;
GRANT USAGE ON SCHEMA public TO $APP_ROLE;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $APP_ROLE;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO $APP_ROLE;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO $APP_ROLE;
ALTER DEFAULT PRIVILEGES FOR ROLE $SUPERUSER IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO $APP_ROLE;
ALTER DEFAULT PRIVILEGES FOR ROLE $SUPERUSER IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO $APP_ROLE;
ALTER DEFAULT PRIVILEGES FOR ROLE $SUPERUSER IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO $APP_ROLE;
SQL
    done
    log "databases ready: $DATABASES (app role $APP_ROLE)"
}

cmd_stop() {
    resolve_layout
    if [[ -z "$PG_USER" ]] || ! is_running; then
        log "not running"
        return 0
    fi
    local bindir; bindir="$(cluster_bindir)"
    log "stopping ..."
    if ! as_pg "$bindir/pg_ctl" -D "$DATA_DIR" -w -t 30 stop -m fast >>"$LOG_FILE" 2>&1; then
        log "fast shutdown timed out; using immediate mode"
        as_pg "$bindir/pg_ctl" -D "$DATA_DIR" -w -t 30 stop -m immediate >>"$LOG_FILE" 2>&1 \
            || die "could not stop PostgreSQL (log: $LOG_FILE)"
    fi
    log "stopped"
}

cmd_status() {
    resolve_layout
    if [[ -n "$PG_USER" ]] && is_running; then
        log "running on $HOST:$PORT (data $DATA_DIR, log $LOG_FILE)"
        log "superuser DSN: $(dsn)"
        return 0
    fi
    log "stopped (data $DATA_DIR)"
    return 3
}

cmd_destroy() {
    cmd_stop
    resolve_layout
    log "removing $PG_HOME"
    rm -rf "$PG_HOME"
    if [[ -L "$STACK_DIR/postgres" ]]; then rm -f "$STACK_DIR/postgres"; fi
    if [[ "$PG_HOME" == "$EXTERNAL_ROOT"/* ]]; then rm -f "$PG_HOME.owner"; fi
}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    wait) cmd_wait ;;
    create-dbs) cmd_create_dbs ;;
    dsn) dsn "${2:-postgres}" ;;
    destroy) cmd_destroy ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
