#!/usr/bin/env bash
# Local single-node Kafka (KRaft, broker+controller in one JVM) for Patron,
# run as a plain background process from jars fetched off Maven Central.
#
# Usage: kafka.sh {fetch|start|stop|restart|status|wait|create-topics|list-topics}
#
# Environment (defaults):
#   PATRON_STACK_DIR              <repo>/.stack   state: kafka/, logs: logs/, pids: run/
#   PATRON_CACHE_DIR              ~/.cache/patron jars in kafka-<version>/libs
#   PATRON_KAFKA_PORT             19092           client listener (127.0.0.1)
#   PATRON_KAFKA_CONTROLLER_PORT  19093           KRaft controller listener
#   PATRON_KAFKA_PARTITIONS       12              partitions per topic
#   PATRON_KAFKA_HEAP             1g              broker max heap (-Xmx)
#   PATRON_KAFKA_WAIT_TIMEOUT     90              seconds `wait` allows
#   PATRON_KAFKA_ADMIN_HELPER     1               0 = use kafka-topics instead of the
#                                                 compiled PatronKafkaAdmin helper
#   PATRON_DLQ_RETENTION_HOURS    168             retention.ms of every <topic>.dlq, set
#                                                 on existing ones too (GDPR: dead letters
#                                                 hold personal data)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../../.." && pwd)"

STACK_DIR="${PATRON_STACK_DIR:-$REPO_ROOT/.stack}"
CACHE_ROOT="${PATRON_CACHE_DIR:-$HOME/.cache/patron}"
PORT="${PATRON_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${PATRON_KAFKA_CONTROLLER_PORT:-19093}"
PARTITIONS="${PATRON_KAFKA_PARTITIONS:-12}"
HEAP="${PATRON_KAFKA_HEAP:-1g}"
WAIT_TIMEOUT="${PATRON_KAFKA_WAIT_TIMEOUT:-90}"
DLQ_RETENTION_HOURS="${PATRON_DLQ_RETENTION_HOURS:-168}"

POM="$SCRIPT_DIR/pom.xml"
TOPICS_FILE="$SCRIPT_DIR/topics.txt"
ADMIN_SRC="$SCRIPT_DIR/PatronKafkaAdmin.java"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
CACHE="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$CACHE/libs"
MARKER="$CACHE/.complete"

STATE_DIR="$STACK_DIR/kafka"
DATA_DIR="$STATE_DIR/data"
CONFIG="$STATE_DIR/server.properties"
CLUSTER_ID_FILE="$STATE_DIR/cluster.id"
LOG_DIR="$STACK_DIR/logs"
LOG_FILE="$LOG_DIR/kafka.log"
STDOUT_FILE="$LOG_DIR/kafka.stdout.log"
RUN_DIR="$STACK_DIR/run"
PID_FILE="$RUN_DIR/kafka.pid"
BOOTSTRAP="127.0.0.1:$PORT"

log() { printf '[kafka] %s\n' "$*"; }
now_ms() { date +%s%3N; }
since() { local d=$(($(now_ms) - $1)); printf '%d.%01d s' $((d / 1000)) $((d % 1000 / 100)); }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }

# JVM options for the short-lived helper JVMs: tuned for start-up time.
TOOL_JAVA_OPTS=(-Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m
    "-Dlog4j2.configurationFile=$SCRIPT_DIR/log4j2-tools.properties")

pom_hash() { sha256sum "$POM" | cut -c1-16; }

# ---------------------------------------------------------------- fetch ----
cmd_fetch() {
    [[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $POM"
    local want; want="$(pom_hash)"
    if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$want" ]]; then
        log "kafka $KAFKA_VERSION already fetched ($LIBS)"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (Maven is required to fetch Kafka)"
    command -v java >/dev/null || die "java not found (Java 17+ is required)"
    log "fetching kafka $KAFKA_VERSION and its runtime dependencies into $LIBS ..."
    local start tmp="$CACHE/libs.tmp.$$"; start=$(now_ms)
    mkdir -p "$CACHE"
    rm -rf "$tmp"
    if ! mvn -B -ntp -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/fetch.log" 2>&1; then
        tail -n 40 "$CACHE/fetch.log" >&2
        rm -rf "$tmp"
        die "maven could not resolve the kafka dependencies (full log: $CACHE/fetch.log)"
    fi
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 \
        || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"; }
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    rm -rf "$CACHE"/admin-*   # helper is compiled against these jars
    printf '%s\n' "$want" >"$MARKER"
    log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $(since "$start")"
}

ensure_fetched() {
    if [[ ! -f "$MARKER" || "$(cat "$MARKER")" != "$(pom_hash)" ]]; then
        cmd_fetch
    fi
}

# Compiles PatronKafkaAdmin.java once into the cache (keyed by its hash).
# Prints the class directory, or nothing when no javac is available.
admin_classes() {
    [[ "${PATRON_KAFKA_ADMIN_HELPER:-1}" != 0 ]] || return 0
    local dir; dir="$CACHE/admin-$(sha256sum "$ADMIN_SRC" | cut -c1-16)"
    if [[ -f "$dir/PatronKafkaAdmin.class" ]]; then
        printf '%s\n' "$dir"; return 0
    fi
    [[ "${PATRON_KAFKA_ADMIN_HELPER:-1}" != 0 ]] || return 0
    command -v javac >/dev/null || return 0
    rm -rf "$dir.tmp.$$" && mkdir -p "$dir.tmp.$$"
    if javac -nowarn -d "$dir.tmp.$$" -cp "$LIBS/*" "$ADMIN_SRC" >&2; then
        rm -rf "$dir" && mv "$dir.tmp.$$" "$dir"
        printf '%s\n' "$dir"
    else
        rm -rf "$dir.tmp.$$"
        log "warning: could not compile the admin helper; falling back to kafka-topics" >&2
    fi
}

run_tool() { java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" "$@"; }

run_admin() {
    local classes; classes="$(admin_classes)"
    [[ -n "$classes" ]] || return 99
    java "${TOOL_JAVA_OPTS[@]}" -cp "$classes:$LIBS/*" PatronKafkaAdmin "$@"
}

# --------------------------------------------------------------- process ----
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints the broker pid if the pid file points at our live broker JVM.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $CONFIG" || return 1
    printf '%s\n' "$pid"
}

new_cluster_id() {
    # A Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'.
    local id
    while :; do
        id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "$id" != -* && ${#id} -eq 22 ]] && break
    done
    printf '%s\n' "$id"
}

write_config() {
    cat >"$CONFIG" <<EOF
# Generated by deploy/local/kafka/kafka.sh - edits are overwritten on start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

num.partitions=$PARTITIONS
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=$PARTITIONS
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=$PARTITIONS
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Single local node: after a crash (kill -9) the stale registration of the
# previous incarnation expires after this timeout instead of the default 9 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000

group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
# Idempotent/transactional producers need no ACLs: no authorizer is configured.

num.network.threads=3
num.io.threads=4
log.retention.hours=168
log.segment.bytes=268435456
EOF
}

format_storage() {
    if [[ -f "$DATA_DIR/meta.properties" ]]; then
        return 0
    fi
    [[ -f "$CLUSTER_ID_FILE" ]] || new_cluster_id >"$CLUSTER_ID_FILE"
    local cid; cid="$(cat "$CLUSTER_ID_FILE")"
    log "formatting storage in $DATA_DIR (cluster id $cid)"
    run_tool kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$CONFIG" \
        >>"$LOG_DIR/kafka-format.log" 2>&1 \
        || { tail -n 20 "$LOG_DIR/kafka-format.log" >&2; die "storage format failed"; }
}

show_logs() {
    local f
    for f in "$STDOUT_FILE" "$LOG_FILE"; do
        [[ -s "$f" ]] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        # Only the latest run, long lines shortened.
        awk '/^===== start /{n=0} {buf[n++]=$0} END{s=(n>25?n-25:0); for(i=s;i<n;i++) print substr(buf[i],1,400)}' \
            "$f" >&2
    done
}

cmd_start() {
    local pid
    if pid="$(running_pid)"; then
        if port_open "$PORT"; then
            log "already running (pid $pid) on $BOOTSTRAP"
            return 0
        fi
        log "pid $pid is alive but $BOOTSTRAP does not answer yet; waiting"
        cmd_wait
        cmd_create_topics
        return 0
    fi
    rm -f "$PID_FILE"
    if port_open "$PORT" || port_open "$CONTROLLER_PORT"; then
        die "port $PORT or $CONTROLLER_PORT is in use by another process (set PATRON_KAFKA_PORT / PATRON_KAFKA_CONTROLLER_PORT)"
    fi
    ensure_fetched
    mkdir -p "$STATE_DIR" "$DATA_DIR" "$LOG_DIR" "$RUN_DIR"
    write_config
    format_storage
    log "starting kafka $KAFKA_VERSION on $BOOTSTRAP (controller 127.0.0.1:$CONTROLLER_PORT)"
    local start; start=$(now_ms)
    printf '\n===== start %s =====\n' "$(date -Is)" | tee -a "$LOG_FILE" >>"$STDOUT_FILE"
    nohup java -server -Xms256m "-Xmx$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        "-Dkafka.logs.dir=$LOG_DIR" \
        "-Dpatron.kafka.log.file=$LOG_FILE" \
        "-Dlog4j2.configurationFile=$SCRIPT_DIR/log4j2.properties" \
        -cp "$LIBS/*" kafka.Kafka "$CONFIG" \
        </dev/null >>"$STDOUT_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    log "pid $(cat "$PID_FILE"); log $LOG_FILE"
    cmd_wait
    log "broker up in $(since "$start")"
    cmd_create_topics
}

cmd_wait() {
    local deadline=$((SECONDS + WAIT_TIMEOUT)) pid
    # Cheap phase first: the JVM is alive and the listener accepts connections.
    until port_open "$PORT"; do
        if ! pid="$(running_pid)"; then
            show_logs
            die "kafka is not running (no live process for $PID_FILE)"
        fi
        if ((SECONDS >= deadline)); then
            show_logs
            die "kafka did not open $BOOTSTRAP within ${WAIT_TIMEOUT} s"
        fi
        sleep 0.5
    done
    ensure_fetched
    local left=$((deadline - SECONDS)); ((left > 5)) || left=5
    local rc=0
    run_admin wait "$BOOTSTRAP" "$left" || rc=$?
    if ((rc == 99)); then
        rc=0
        until run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
            --list >/dev/null 2>&1; do
            if ((SECONDS >= deadline)); then rc=1; break; fi
            sleep 1
        done
        ((rc == 0)) && log "broker ready at $BOOTSTRAP"
    fi
    if ((rc != 0)); then
        show_logs
        die "kafka at $BOOTSTRAP not ready within ${WAIT_TIMEOUT} s"
    fi
}

read_topics() {
    [[ -f "$TOPICS_FILE" ]] || die "topic list $TOPICS_FILE not found"
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$TOPICS_FILE" | grep -v '^$' || true
}

cmd_create_topics() {
    ensure_fetched
    local base=() all=() t
    mapfile -t base < <(read_topics)
    ((${#base[@]})) || die "no topics in $TOPICS_FILE"
    for t in "${base[@]}"; do all+=("$t" "$t.dlq"); done
    local start rc=0; start=$(now_ms)
    log "ensuring ${#all[@]} topics ($PARTITIONS partitions, replication 1)"
    run_admin create-topics "$BOOTSTRAP" "$PARTITIONS" 1 "${all[@]}" || rc=$?
    if ((rc == 99)); then
        # No javac: one kafka-topics JVM per topic, run in parallel.
        rc=0
        printf '%s\n' "${all[@]}" | xargs -P 6 -I{} java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" \
            org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create \
            --if-not-exists --topic {} --partitions "$PARTITIONS" --replication-factor 1 2>&1 \
            | { grep -v 'limitations in metric names' || true; } || rc=$?
    fi
    ((rc == 0)) || die "topic creation failed"
    set_dead_letter_retention "${base[@]/%/.dlq}"
    log "topics ready in $(since "$start")"
}

# Dead letters keep whole messages, personal data included: their topics keep them for
# PATRON_DLQ_RETENTION_HOURS only (the profile also erases an erased customer's at once).
set_dead_letter_retention() {
    [[ "$DLQ_RETENTION_HOURS" =~ ^[1-9][0-9]*$ ]] \
        || die "PATRON_DLQ_RETENTION_HOURS must be a whole number of hours, not '$DLQ_RETENTION_HOURS'"
    local ms=$((DLQ_RETENTION_HOURS * 3600 * 1000)) rc=0
    log "dead-letter topics keep records ${DLQ_RETENTION_HOURS} h (retention.ms=$ms)"
    run_admin set-topic-config "$BOOTSTRAP" retention.ms "$ms" "$@" || rc=$?
    if ((rc == 99)); then
        rc=0
        printf '%s\n' "$@" | xargs -P 6 -I{} java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" \
            kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter \
            --entity-type topics --entity-name {} --add-config "retention.ms=$ms" >/dev/null || rc=$?
    fi
    ((rc == 0)) || die "could not set the dead-letter topics' retention"
}

cmd_list_topics() {
    ensure_fetched
    local rc=0
    run_admin list-topics "$BOOTSTRAP" || rc=$?
    if ((rc == 99)); then
        run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list
    elif ((rc != 0)); then
        die "could not list topics at $BOOTSTRAP"
    fi
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        log "not running"
        return 0
    fi
    log "stopping (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "still alive after 30 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        if port_open "$PORT"; then
            log "running (pid $pid) on $BOOTSTRAP"
        else
            log "running (pid $pid), $BOOTSTRAP not answering yet"
        fi
        return 0
    fi
    log "stopped"
    return 3
}

usage() {
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    wait) cmd_wait ;;
    create-topics) cmd_create_topics ;;
    list-topics) cmd_list_topics ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
