#!/usr/bin/env bash
# Throwaway PostgreSQL server for tests (Debian 12; run as root by CI and `make`).
#
#   .ci/postgres.sh [start]   install postgresql if missing, start (or reuse) the server,
#                             write the env file and print it on stdout
#   .ci/postgres.sh stop      stop the server (pg_ctl -m fast) and remove the env file
#   .ci/postgres.sh status    exit 0 if the server is up, 3 if not
#
# Environment:
#   PGDATA_DIR    folder holding the server (default: $PWD/.pgdata; if the `postgres` user
#                 cannot reach it, /tmp/synthgen-pg-<hash of $PWD> is used instead)
#   PGPORT_TEST   TCP port on 127.0.0.1 (default: 54329)
#   PGENV_FILE    env file to write (default: $PWD/.pgdata/env, mode 0600)
#
# Tests read SYNTHGEN_TEST_PG_URL (and PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE) from
# the env file, e.g.  set -a; . .pgdata/env; set +a
#
# The server is disposable: every cold start wipes and re-creates the cluster with a new
# random password; durability is switched off (fsync=off) for speed. Never point
# PGDATA_DIR at anything you want to keep.
set -euo pipefail

PORT="${PGPORT_TEST:-54329}"
PGUSER_NAME=synthgen
MARKER=.synthgen-pg # only folders with this marker are ever wiped
START_TIMEOUT=60

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

if ! [[ "$PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((PORT > 65535)); then
    die "bad PGPORT_TEST: $PORT"
fi

CWD="$(pwd -P)"
ENV_FILE="${PGENV_FILE:-$CWD/.pgdata/env}"

# Who runs the server: postgres refuses to run as root, so root runs it as `postgres`;
# a non-root caller runs it as itself (then nothing can be installed).
if ((EUID == 0)); then
    RUN_AS=postgres
else
    RUN_AS="$(id -un)"
fi

as_pg() {
    # cd / first: the caller's cwd may be a folder the postgres user cannot enter.
    # 9>&- : the postmaster must not inherit the flock fd, or it would hold the lock forever.
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@" 9>&-)
    else
        (cd / && "$@" 9>&-)
    fi
}

find_bindir() {
    local d
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
        printf '%s\n' "$d"
    fi
}

apt_quiet() {
    # Quiet on success; on failure show the output.
    local out rc=0
    out="$(mktemp)"
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0 "$@" >"$out" 2>&1 || rc=$?
    if ((rc != 0)); then
        cat "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

install_postgres() {
    ((EUID == 0)) || die "PostgreSQL is not installed and installing needs root (apt-get install postgresql)"
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is missing"
    log "installing postgresql with apt-get"
    # apt-get update only when needed: no package lists yet, or the install fails
    # (stale lists give 404s).
    if ! apt-cache show postgresql >/dev/null 2>&1; then
        apt_quiet update || die "apt-get update failed"
    fi
    if ! apt_quiet install --no-install-recommends postgresql; then
        log "install failed; retrying after apt-get update"
        apt_quiet update || die "apt-get update failed"
        apt_quiet install --no-install-recommends postgresql || die "apt-get install postgresql failed"
    fi
}

# Can the server's OS user reach this folder (search permission on it and all parents)?
# A folder that does not exist yet is judged by its nearest existing ancestor.
pg_reachable() {
    local d="$1"
    while [[ ! -d "$d" ]]; do d="$(dirname "$d")"; done
    ((EUID == 0)) || return 0
    as_pg test -x "$d" 2>/dev/null
}

pick_base() {
    local want fallback why="the '$RUN_AS' user cannot reach"
    want="${PGDATA_DIR:-$CWD/.pgdata}"
    [[ "$want" = /* ]] || want="$CWD/$want"
    [[ "$want" = / ]] || want="${want%/}"
    # The socket path <base>/run/.s.PGSQL.<port> must fit in sun_path (107 bytes).
    if ((${#want} + 20 > 100)); then
        [[ -z "${PGDATA_DIR:-}" ]] || die "PGDATA_DIR=$want is too long for a unix socket path"
        why="unix socket path too long for"
    elif pg_reachable "$want"; then
        printf '%s\n' "$want"
        return
    else
        [[ -z "${PGDATA_DIR:-}" ]] ||
            die "the '$RUN_AS' user cannot reach PGDATA_DIR=$want (check its parents' permissions)"
    fi
    fallback="/tmp/synthgen-pg-$(printf '%s' "$CWD" | sha256sum | cut -c1-12)"
    log "using $fallback ($why $want)"
    printf '%s\n' "$fallback"
}

BASE="$(pick_base)"
DATA="$BASE/pg"     # the cluster (initdb target), owned by the server user, 0700
RUN="$BASE/run"     # unix socket + server log, owned by the server user
LOGFILE="$RUN/postgres.log"

prepare_base() {
    if [[ -L "$BASE" ]]; then
        die "$BASE is a symlink; refusing to use it"
    fi
    if [[ -e "$BASE" && ! -d "$BASE" ]]; then
        die "$BASE exists and is not a folder"
    fi
    if [[ -d "$BASE" && ! -e "$BASE/$MARKER" ]] && [[ -n "$(find "$BASE" -mindepth 1 -maxdepth 1 ! -name env ! -name .gitignore ! -name '.env.*' -print -quit)" ]]; then
        die "$BASE exists, is not empty and was not made by this script; refusing to touch it"
    fi
    if [[ -d "$BASE" ]] && [[ "$(stat -c %u "$BASE")" != "$EUID" ]]; then
        die "$BASE is owned by uid $(stat -c %u "$BASE"), not by us; refusing to use it"
    fi
    mkdir -p "$BASE"
    chmod 0755 "$BASE"
    : >"$BASE/$MARKER"
    # keep git from listing it, without touching the repository's .gitignore
    printf '*\n' >"$BASE/.gitignore"
}

is_running() {
    [[ -f "$DATA/PG_VERSION" && -f "$DATA/postmaster.pid" ]] || return 1
    # a stale pid file whose pid now belongs to some other program does not count
    local pid
    pid="$(head -n 1 "$DATA/postmaster.pid")"
    # (nor does a zombie: kill -9'd postmaster that no init has reaped yet)
    [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres* ]] || return 1
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
    as_pg "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

is_ready() {
    as_pg "$BINDIR/pg_isready" -q -h "$RUN" -p "$PORT" -t 5 >/dev/null 2>&1
}

env_works() {
    [[ -r "$ENV_FILE" ]] || return 1
    local pw
    pw="$(sed -n 's/^PGPASSWORD=//p' "$ENV_FILE" | head -n 1)"
    [[ -n "$pw" ]] || return 1
    grep -qx "PGPORT=$PORT" "$ENV_FILE" || return 1
    PGPASSWORD="$pw" PGCONNECT_TIMEOUT=5 "$BINDIR/psql" -X -q -A -t -w \
        -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

stop_server() {
    local mode="${1:-fast}"
    if is_running; then
        log "stopping the server in $DATA"
        if ! as_pg "$BINDIR/pg_ctl" stop -D "$DATA" -m "$mode" -w -t "$START_TIMEOUT" >/dev/null; then
            log "fast stop failed; stopping immediately"
            as_pg "$BINDIR/pg_ctl" stop -D "$DATA" -m immediate -w -t "$START_TIMEOUT" >/dev/null
        fi
    fi
}

show_log() {
    if [[ -r "$LOGFILE" ]]; then
        log "last lines of $LOGFILE:"
        tail -n 30 "$LOGFILE" >&2
    fi
}

write_env() {
    local pw="$1" tmp
    mkdir -p "$(dirname "$ENV_FILE")"
    tmp="$(mktemp "$(dirname "$ENV_FILE")/.env.XXXXXX")"
    chmod 0600 "$tmp"
    cat >"$tmp" <<EOF
SYNTHGEN_TEST_PG_URL=postgresql+psycopg://$PGUSER_NAME:$pw@127.0.0.1:$PORT/postgres
PGHOST=127.0.0.1
PGPORT=$PORT
PGUSER=$PGUSER_NAME
PGPASSWORD=$pw
PGDATABASE=postgres
SYNTHGEN_TEST_PG_DATA=$DATA
SYNTHGEN_TEST_PG_BIN=$BINDIR
EOF
    # a sudo caller gets to read its own env file
    if ((EUID == 0)) && [[ -n "${SUDO_UID:-}" ]]; then
        chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$tmp"
    fi
    mv -f "$tmp" "$ENV_FILE"
    # an env file beside the repo's .pgdata/ (fallback layout): keep git quiet there too
    if [[ "$ENV_FILE" == "$CWD/.pgdata/env" && ! -e "$CWD/.pgdata/.gitignore" ]]; then
        printf '*\n' >"$CWD/.pgdata/.gitignore"
    fi
}

cold_start() {
    local pw pwfile
    stop_server immediate || true
    # stale or half-made cluster: start over
    rm -rf "$DATA" "$RUN"
    mkdir -p "$DATA" "$RUN"
    chmod 0700 "$DATA"
    chmod 0755 "$RUN"
    if ((EUID == 0)); then
        chown postgres:postgres "$DATA" "$RUN"
    fi

    pw="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" # 48 hex chars, URL-safe
    pwfile="$(mktemp "$RUN/.pw.XXXXXX")"
    printf '%s\n' "$pw" >"$pwfile"
    chmod 0600 "$pwfile"
    if ((EUID == 0)); then chown postgres "$pwfile"; fi

    log "initdb $DATA ($("$BINDIR/postgres" --version))"
    local out rc=0
    out="$(as_pg "$BINDIR/initdb" -D "$DATA" --username="$PGUSER_NAME" --pwfile="$pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-instructions 2>&1)" || rc=$?
    rm -f "$pwfile"
    if ((rc != 0)); then
        printf '%s\n' "$out" >&2
        die "initdb failed"
    fi

    cat >>"$DATA/postgresql.conf" <<EOF

# --- synthgen throwaway test server (.ci/postgres.sh) ---
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
logging_collector = off
EOF

    log "starting on 127.0.0.1:$PORT"
    if ! as_pg "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOGFILE" -w -t "$START_TIMEOUT" -s; then
        show_log
        die "the server did not start (is port $PORT taken? set PGPORT_TEST)"
    fi
    write_env "$pw"
    env_works || {
        show_log
        die "the server started but the new password does not work"
    }
}

cmd_start() {
    BINDIR="$(find_bindir)"
    if [[ -z "$BINDIR" ]]; then
        install_postgres
        BINDIR="$(find_bindir)"
        [[ -n "$BINDIR" ]] || die "no server binaries under /usr/lib/postgresql/*/bin after install"
    fi
    if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
        die "there is no 'postgres' OS user to run the server as"
    fi

    prepare_base
    exec 9>"$BASE/.lock"
    flock -w 120 9 || die "another postgres.sh holds $BASE/.lock"

    if is_running && is_ready && env_works; then
        log "reusing the running server in $DATA"
    else
        if is_running; then
            log "server in $DATA is running but unusable (port changed or env file lost); restarting"
        elif [[ -e "$DATA" ]]; then
            log "no server running from $DATA; re-creating the cluster"
        fi
        cold_start
    fi
    log "env file: $ENV_FILE"
    cat "$ENV_FILE"
}

cmd_stop() {
    BINDIR="$(find_bindir)"
    if [[ -z "$BINDIR" || ! -d "$DATA" ]]; then
        log "no server to stop"
        rm -f "$ENV_FILE"
        return 0
    fi
    exec 9>"$BASE/.lock"
    flock -w 120 9 || die "another postgres.sh holds $BASE/.lock"
    if is_running; then
        stop_server fast
        log "stopped"
    else
        log "not running"
    fi
    rm -f "$ENV_FILE"
}

cmd_status() {
    BINDIR="$(find_bindir)"
    if [[ -n "$BINDIR" ]] && is_running && is_ready; then
        log "running: $DATA on 127.0.0.1:$PORT"
        return 0
    fi
    log "not running"
    return 3
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
-h | --help | help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' ;;
*) die "usage: $0 [start|stop|status]" ;;
esac
