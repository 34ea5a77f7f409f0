#!/bin/sh
# A private PostgreSQL cluster for the tests: `start DIR` makes one in DIR
# (no TCP, a unix socket only, durability off) and writes its libpq URI to
# DIR/uri; `stop DIR` stops it and removes DIR. ctest runs both around the
# tests that use PostgreSQL (tests/support/pg_cluster/CMakeLists.txt).
#
# When PostgreSQL cannot start here (no binaries, no unprivileged user),
# start writes the reason to DIR/skip and exits 0, so those tests skip with
# a visible line; under CI=true it exits 1 instead: CI must run them.
# Never touches the system's cluster: its own data folder, its own socket.
set -eu

PORT=54329 # names the socket file (.s.PGSQL.54329) only: no TCP listener
USER_NAME=orchard

usage() {
    echo "usage: $0 start|stop|pause|resume DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
DIR=$2
case $DIR in
    /*) ;;
    *) DIR=$(pwd)/$DIR ;;
esac

# Run a command as the cluster's owner: `postgres` when we are root
# (initdb and postgres refuse root), ourselves otherwise.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The folder the server lives in: DIR itself, or the temporary folder start
# chose when DIR was out of the server user's reach or too long for a socket.
server_dir() {
    if [ -f "$DIR/server_dir" ]; then cat "$DIR/server_dir"; else echo "$DIR"; fi
}

find_bin() {
    if [ -n "${ORCHARD_PG_BIN:-}" ]; then
        # Named by hand: that one or none.
        if [ -x "$ORCHARD_PG_BIN/initdb" ] && [ -x "$ORCHARD_PG_BIN/pg_ctl" ]; then
            echo "$ORCHARD_PG_BIN"
        fi
        return
    fi
    # The newest installed major version.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return
        fi
    done
}

# 0 when folder $1 holds only what start makes, so that a wrong DIR given
# to stop (or to start, which stops first) never loses anything.
ours_only() {
    for e in "$1"/* "$1"/.[!.]*; do
        [ -e "$e" ] || [ -S "$e" ] || continue
        case ${e##*/} in
            bin | uri | skip | server_dir | initdb.log | server.log | data | .s.PGSQL.*) ;;
            *) return 1 ;;
        esac
    done
}

# Stop whatever runs in `sdir` and remove it; quiet when nothing does.
stop_server() {
    sdir=$1
    bin=$(find_bin)
    if [ -n "$bin" ] && [ -f "$sdir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" stop -D "$sdir/data" -m fast -w -t 30 >/dev/null 2>&1 ||
            as_owner "$bin/pg_ctl" stop -D "$sdir/data" -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    rm -rf "$sdir"
}

do_stop() {
    [ -d "$DIR" ] || return 0
    sdir=$(server_dir)
    for d in "$DIR" "$sdir"; do
        if [ -d "$d" ] && ! ours_only "$d"; then
            echo "pg_cluster: $d holds files pg_cluster.sh did not make: not removing it" >&2
            exit 1
        fi
    done
    [ "$sdir" = "$DIR" ] || stop_server "$sdir"
    stop_server "$DIR"
}

# No PostgreSQL for the tests: say why, and fail only where it must run.
skip() {
    echo "$*" >"$DIR/skip"
    if [ "${CI:-}" = "true" ]; then
        echo "pg_cluster: cannot start PostgreSQL, and CI=true needs it: $*" >&2
        exit 1
    fi
    echo "pg_cluster: SKIP (PostgreSQL): $*" >&2
    exit 0
}

do_start() {
    do_stop # a cluster a killed run left behind
    mkdir -p "$DIR"
    bin=$(find_bin)
    [ -n "$bin" ] || skip "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in ${ORCHARD_PG_BIN:-/usr/lib/postgresql/*/bin}; scripts/deps.sh installs postgresql-15"
    sdir=$DIR
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || skip "running as root, and there is no 'postgres' user to run the server as"
        command -v runuser >/dev/null 2>&1 || skip "running as root, and runuser is missing"
        chown postgres "$DIR"
        # The server must reach its folder through every parent (a clone
        # under /root is not reachable by postgres).
        runuser -u postgres -- test -w "$DIR" || sdir=
    fi
    # A unix socket's path has room for 107 bytes; and the folder goes into
    # a URI and postgresql.conf as it is, so only plain characters.
    [ ${#DIR} -le 80 ] || sdir=
    case $DIR in *[!A-Za-z0-9/._-]*) sdir= ;; esac
    if [ -z "$sdir" ]; then
        sdir=$(mktemp -d /tmp/orchard-pg.XXXXXX)
        echo "$sdir" >"$DIR/server_dir"
        [ "$(id -u)" -ne 0 ] || chown postgres "$sdir"
    fi

    log=$DIR/initdb.log
    as_owner "$bin/initdb" -D "$sdir/data" -U "$USER_NAME" --auth=trust -E UTF8 \
        --locale=C --no-sync >"$log" 2>&1 ||
        skip "initdb failed: $(tail -n 3 "$log" | tr '\n' ' ')"
    # Tests only: nothing to survive a power cut, and no TCP at all.
    cat >>"$sdir/data/postgresql.conf" <<EOF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$sdir'
unix_socket_permissions = 0777
max_connections = 200
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_parallel_workers_per_gather = 0
log_min_messages = warning
log_statement = none
EOF
    as_owner "$bin/pg_ctl" start -D "$sdir/data" -l "$sdir/server.log" -w -t 60 >/dev/null 2>&1 ||
        skip "the server did not start: $(tail -n 3 "$sdir/server.log" 2>/dev/null | tr '\n' ' ')"
    # Accepting connections: pg_ctl -w waited for that; check as a client would.
    if [ -x "$bin/pg_isready" ]; then
        as_owner "$bin/pg_isready" -q -h "$sdir" -p "$PORT" -t 30 ||
            skip "the server started but does not accept connections on $sdir"
    fi
    echo "postgresql://$USER_NAME@/postgres?host=$sdir&port=$PORT" >"$DIR/uri"
    echo "$bin" >"$DIR/bin"
    echo "pg_cluster: PostgreSQL ($("$bin/postgres" --version)) on $sdir"
}

# A server outage with its data kept (pause), and the way back (resume).
do_pause() {
    as_owner "$(cat "$DIR/bin")/pg_ctl" stop -D "$(server_dir)/data" -m fast -w -t 30 >/dev/null
}

do_resume() {
    sdir=$(server_dir)
    as_owner "$(cat "$DIR/bin")/pg_ctl" start -D "$sdir/data" -l "$sdir/server.log" -w -t 60 >/dev/null
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    pause) do_pause ;;
    resume) do_resume ;;
    *) usage ;;
esac
