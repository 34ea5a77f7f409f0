#!/bin/sh
# Store benchmark driver (the bench_store_run target runs it; `bench` too):
# signed check-ins/s (bench/checkin's load generator on the Mac simulator)
# and SCEP enrollments/s (bench/scep's), against `orchard serve` on SQLite
# and on PostgreSQL, one instance and two instances on one store with the
# check-ins split across them, in one run. PostgreSQL is a private cluster
# (tests/support/pg_cluster/pg_cluster.sh) made durable for the run (fsync,
# synchronous_commit and full_page_writes on: a commit is on disk when it
# returns, stricter than SQLite's store, WAL with synchronous=NORMAL, which
# fsyncs at checkpoints), with pg_stat_statements to count round trips; one
# more row with synchronous_commit off shows what the per-commit flush costs.
# For each row: orchard's, PostgreSQL's and the client's CPU time, the
# transactions and round trips per request, the WAL flushes and their time
# (pg_stat_wal), the waits for the writer path's advisory lock, and how many
# backends waited on a lock, sampled 4 times a second. The analysis under
# the tables is worked out from those figures.
# Prints a markdown section on stdout and, with --results FILE, rewrites the
# store section of FILE.
#
#   run.sh --checkin BIN --scep BIN --orchard-bin BIN --source-dir DIR
#          [--build-type T] [--results FILE]
#
# BENCH_SECONDS (15) per row, BENCH_STORE_MACS (200), BENCH_STORE_CONNS (8),
# BENCH_SCEP_THREADS (2).
set -eu

SECS=${BENCH_SECONDS:-15}
MACS=${BENCH_STORE_MACS:-200}
CONNS=${BENCH_STORE_CONNS:-8}
THREADS=${BENCH_SCEP_THREADS:-2}
BUILD_TYPE=unknown
while [ $# -gt 0 ]; do
    case "$1" in
        --checkin) CHECKIN=$2 ;;
        --scep) SCEP=$2 ;;
        --orchard-bin) ORCHARD=$2 ;;
        --source-dir) SRC=$2 ;;
        --build-type) BUILD_TYPE=$2 ;;
        --results) RESULTS=$2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
: "${CHECKIN:?--checkin missing}" "${SCEP:?--scep missing}" "${ORCHARD:?--orchard-bin missing}"
: "${SRC:?--source-dir missing}"

. "$SRC/bench/bench_lib.sh"
PID_A='' PID_B='' SAMPLER=''
bench_setup store PID_A PID_B SAMPLER
PG_SH=$SRC/tests/support/pg_cluster/pg_cluster.sh
PG_DIR=$WORK/pg
# The cluster outlives bench_lib's processes: stop it first, however we end.
store_cleanup() {
    [ -d "$PG_DIR" ] && sh "$PG_SH" stop "$PG_DIR" >/dev/null 2>&1 || true
    bench_cleanup
}
trap store_cleanup EXIT

# No limit on profile downloads per token, or 200 Macs could not enroll in a minute.
export ORCHARD_MDM_ENROLL_DOWNLOADS_PER_MINUTE=0
sh "$SRC/scripts/dev_setup.sh" "$ORCHARD" "$WORK/dev" >"$WORK/dev_setup.log" 2>&1 ||
    { cat "$WORK/dev_setup.log" >&2; exit 1; }
CFG_SQLITE=$WORK/dev/orchard.yml
CHALLENGE=$(sed -n 's/^[[:space:]]*apple_scep_challenge:[[:space:]]*//p' "$CFG_SQLITE" | head -n 1)

# start_serve VAR CONFIG NAME: `orchard serve` on a free port, its pid in
# $VAR, its base URL in $VAR_BASE; waits until it listens.
start_serve() {
    port=$(free_port)
    ORCHARD_SERVER_ADDRESS=127.0.0.1:$port "$ORCHARD" serve --config "$2" >"$WORK/serve-$3.log" 2>&1 &
    eval "$1=$!; ${1}_BASE=http://127.0.0.1:$port"
    i=0
    until grep -q 'listening on http' "$WORK/serve-$3.log"; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 "$(eval echo "\$$1")" 2>/dev/null; then
            say "orchard serve ($3) did not start:"; tail -n 20 "$WORK/serve-$3.log" >&2; exit 1
        fi
        sleep 0.1
    done
}

stop_serve() { # stop_serve VAR
    eval "pid=\$$1"
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    eval "$1=''"
}

# ---- PostgreSQL: the cluster, durable, with pg_stat_statements ------------------------
PG=yes PG_NOTE='' PG_URI='' PG_VERSION=''
if ! sh "$PG_SH" start "$PG_DIR" >"$WORK/pg.log" 2>&1 || [ -f "$PG_DIR/skip" ]; then
    PG=no PG_NOTE="PostgreSQL could not start here: $(cat "$PG_DIR/skip" 2>/dev/null || tail -n 1 "$WORK/pg.log")"
    say "$PG_NOTE"
else
    ADMIN_URI=$(cat "$PG_DIR/uri")
    # The cluster's own client, beside its server (pg_cluster.sh notes where).
    PSQL=$(cat "$PG_DIR/bin")/psql
    psql() { "$PSQL" "$@"; }
    PG_DATA=$(cat "$PG_DIR/server_dir" 2>/dev/null || echo "$PG_DIR")/data
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URI" \
        -c "alter system set fsync = on" -c "alter system set synchronous_commit = on" \
        -c "alter system set full_page_writes = on" -c "alter system set shared_buffers = '128MB'" \
        -c "alter system set shared_preload_libraries = 'pg_stat_statements'" \
        -c "alter system set track_wal_io_timing = on" >/dev/null
    sh "$PG_SH" pause "$PG_DIR" && sh "$PG_SH" resume "$PG_DIR"
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URI" -c "create database bench" >/dev/null
    PG_URI=$(echo "$ADMIN_URI" | sed 's|/postgres?|/bench?|')
    psql -X -q -v ON_ERROR_STOP=1 -d "$PG_URI" -c "create extension pg_stat_statements" >/dev/null
    PG_SETTINGS=$(psql -X -A -t -d "$PG_URI" -c "select string_agg(name || ' = ' || current_setting(name), ', ' order by name) from pg_settings where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_connections')")
    PG_VERSION=$(psql -X -A -t -d "$PG_URI" -c "show server_version")
    (umask 077; awk -v uri="$PG_URI" '/^  sqlite: / { print "  postgres: \"" uri "\""; next } { print }' \
        "$CFG_SQLITE" >"$WORK/dev/orchard-pg.yml")
    grep -q '^  postgres:' "$WORK/dev/orchard-pg.yml" || { say "no store line in $CFG_SQLITE"; exit 1; }
fi

psql_q() { psql -X -A -t -q -d "$PG_URI" -c "$1"; }

# CPU seconds of the whole cluster: the postmaster and every backend.
pg_cpu() {
    pm=$(head -n 1 "$PG_DATA/postmaster.pid")
    for p in $pm $(ps -o pid= --ppid "$pm"); do cat "/proc/$p/stat" 2>/dev/null || true; done |
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%.2f", t / hz }'
}

# pg_begin / pg_end LABEL [KEY=VALUE]: around a measured run, the cluster's
# CPU, the statements orchard ran, the WAL flushes, and a
# sampler of pg_stat_activity (backends waiting on a lock, backends active).
pg_begin() {
    [ "$PG" = yes ] || return 0
    psql_q "select pg_stat_statements_reset(); select pg_stat_reset(); select pg_stat_reset_shared('wal')" >/dev/null
    PG_CPU0=$(pg_cpu)
    printf "%s\n\\\\watch 0.25\n" "select count(*) filter (where wait_event_type = 'Lock'), count(*) filter (where state = 'active') - 1 from pg_stat_activity where datname = current_database()" |
        "$PSQL" -X -A -t -q -d "$PG_URI" >"$WORK/samples" 2>/dev/null &
    SAMPLER=$! # psql itself (not a function's subshell), so kill ends it
}
pg_end() {
    [ "$PG" = yes ] || return 0
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=''
    PG_CPU1=$(pg_cpu)
    # WAL flushes (each durable COMMIT waits for one) and their time.
    PG_WAL=$(psql_q "select wal_sync || ' ' || round(wal_sync_time::numeric, 1) from pg_stat_wal")
    # Statements orchard sent (not the sampler's, not BEGIN/COMMIT, which
    # pg_stat_statements does not count as it counts queries).
    # And of them: the writer path's lock (one per write transaction; its
    # time is the wait for the lock), those that are not orchard's SQL
    # (BEGIN, SET LOCAL lock_timeout and the writer lock or a first SELECT,
    # which the backend sends in one round trip; COMMIT or ROLLBACK), every
    # statement's time inside the server, and the transactions (BEGINs).
    # Round trips: one to begin, one per statement of orchard's, one to end.
    PG_STATS=$(psql_q "select coalesce(sum(calls), 0),
            coalesce(sum(calls) filter (where query like '%pg_advisory_xact_lock%'), 0),
            round(coalesce(sum(total_exec_time) filter (where query like '%pg_advisory_xact_lock%'), 0)::numeric, 1),
            coalesce(sum(calls) filter (where query ~* '^(begin|commit|rollback|set local|select [$]1$|select pg_advisory_xact_lock)'), 0),
            round(coalesce(sum(total_exec_time), 0)::numeric, 1),
            coalesce(sum(calls) filter (where query ~* '^begin'), 0)
        from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where d.datname = current_database() and query not like '%pg_stat%'")
    psql_q "select calls, round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 90)
        from pg_stat_statements s join pg_database d on d.oid = s.dbid
        where d.datname = current_database() and query not like '%pg_stat%' order by calls desc limit 20" \
        >"$WORK/statements-$1.txt"
    awk -F'|' 'NF == 2 { n++; w += $1; a += $2 } END { printf "%s %s\n", n ? w / n : 0, n ? a / n : 0 }' \
        "$WORK/samples" >"$WORK/samples.avg"
    echo "$1 ${2:-} pg_cpu_s=$(awk -v a="$PG_CPU0" -v b="$PG_CPU1" 'BEGIN { printf "%.2f", b - a }') $(echo "$PG_STATS" | awk -F'|' '{ printf "calls=%s writes=%s lock_ms=%s control=%s exec_ms=%s xacts=%s trips=%d", $1, $2, $3, $4, $5, $6, 2 * $6 + $1 - $4 }') wal_syncs=${PG_WAL% *} wal_sync_ms=${PG_WAL#* } lock_waiters=$(cut -d' ' -f1 "$WORK/samples.avg") active=$(cut -d' ' -f2 "$WORK/samples.avg")" >>"$WORK/pg-lines"
}
: >"$WORK/pg-lines"
: >"$WORK/lines"

# checkins STORE LABEL URL... : enroll (once per store) through the first
# instance, then one timed mixed run split over the instances given.
checkins() {
    store=$1 label=$2 base=$3 pids=$4 split=${5:-}
    token=$("$ORCHARD" enroll-token create --name "bench-$label" --config "$CFG" | tail -n 1)
    enroll="$base/api/mdm/apple/enroll?token=$token"
    if [ ! -d "$WORK/macs-$store" ]; then
        say "$store: $MACS Macs enroll through $base"
        "$CHECKIN" --enroll-url "$enroll" --state "$WORK/macs-$store" --macs "$MACS" \
            --concurrency "$CONNS" --seconds 1 --mode mixed --commands 0 --verify-iters 1 \
            >/dev/null 2>"$WORK/enroll-$store.log" ||
            { tail -n 5 "$WORK/enroll-$store.log" >&2; RC=1; return 0; }
    fi
    say "$label: ${SECS}s of mixed check-ins, $CONNS connections"
    [ "$store" = postgres ] && pg_begin
    # shellcheck disable=SC2086 # pids: --server-pid P, once per instance
    line=$("$CHECKIN" --enroll-url "$enroll" --state "$WORK/macs-$store" --macs "$MACS" --reuse \
        --concurrency "$CONNS" --seconds "$SECS" --mode mixed --commands 0 --verify-iters 1 \
        $pids ${split:+--split-url "$split"} 2>>"$WORK/checkin-$label.log" | grep '^phase=checkin') ||
        RC=1
    [ "$store" = postgres ] && pg_end "$label"
    echo "$label $line" >>"$WORK/lines"
    echo "$label $line" >&2
}

# scep STORE LABEL BASE PID: enrollments/s with the static challenge.
scep() {
    say "$2: ${SECS}s of SCEP enrollments, $THREADS threads"
    [ "$1" = postgres ] && pg_begin
    line=$("$SCEP" --url "$3/mdm/apple/scep" --challenge "$CHALLENGE" --threads "$THREADS" \
        --seconds "$SECS" --label "$2" --server-pid "$4" 2>>"$WORK/scep-$2.log") || RC=1
    # PostgreSQL's counters run over every enrollment bench_scep made: the
    # timed ones, its calibration second's and one checked per thread first.
    all=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { printf "%d", v["ok"] + v["calib_rate"] + v["threads"] }')
    [ "$1" = postgres ] && pg_end "$2" "all=$all"
    echo "$2 $line" >>"$WORK/lines"
    echo "$2 $line" >&2
}

RC=0
for store in sqlite postgres; do
    if [ "$store" = postgres ]; then
        [ "$PG" = yes ] || continue
        CFG=$WORK/dev/orchard-pg.yml
    else
        CFG=$CFG_SQLITE
    fi
    start_serve PID_A "$CFG" "$store-a"
    checkins "$store" "$store-1" "$PID_A_BASE" "--server-pid $PID_A"
    if [ "$store" = postgres ]; then
        # The same with commits flushed by the WAL writer, not each COMMIT.
        psql_q "alter system set synchronous_commit = off" >/dev/null
        psql_q "select pg_reload_conf()" >/dev/null
        checkins "$store" "$store-1-async" "$PID_A_BASE" "--server-pid $PID_A"
        psql_q "alter system set synchronous_commit = on" >/dev/null
        psql_q "select pg_reload_conf()" >/dev/null
    fi
    scep "$store" "$store-scep" "$PID_A_BASE" "$PID_A"
    start_serve PID_B "$CFG" "$store-b"
    checkins "$store" "$store-2" "$PID_A_BASE" "--server-pid $PID_A --server-pid $PID_B" "$PID_B_BASE"
    if [ "$store" = postgres ]; then
        # Once more each, in the same order: on a shared machine the disk's
        # flush time moves between runs, and with it the one/two comparison.
        checkins "$store" "$store-1-again" "$PID_A_BASE" "--server-pid $PID_A"
        checkins "$store" "$store-2-again" "$PID_A_BASE" "--server-pid $PID_A --server-pid $PID_B" "$PID_B_BASE"
    fi
    stop_serve PID_B
    stop_serve PID_A
done

# ---- the tables ----------------------------------------------------------------------------
get() { # get LABEL KEY [FILE]
    awk -v l="$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "=")
        if (kv[1] == k) { print kv[2]; exit } } }' "${3:-$WORK/lines}"
}
NPROC=$(nproc)
checkin_row() { # checkin_row TITLE LABEL
    l=$2
    awk -v t="$1" -v r="$(get "$l" rate)" -v ok="$(get "$l" ok)" -v s="$(get "$l" seconds)" \
        -v p50="$(get "$l" p50_ms)" -v p99="$(get "$l" p99_ms)" -v f="$(get "$l" failed)" \
        -v o="$(get "$l" server_cpu_s)" -v c="$(get "$l" client_cpu_s)" \
        -v pg="$(get "$l" pg_cpu_s "$WORK/pg-lines")" -v x="$(get "$l" xacts "$WORK/pg-lines")" \
        -v q="$(get "$l" trips "$WORK/pg-lines")" -v w="$(get "$l" lock_waiters "$WORK/pg-lines")" \
        -v n="$NPROC" 'function ms(v) { return (v == "" || ok <= 0) ? "" : sprintf("%.3f", 1e3 * v / ok) }
    BEGIN {
        if (r == "") { printf "| %s | not measured | | | | | | | | | | |\n", t; exit }
        busy = (o + c + (pg == "" ? 0 : pg)) / s
        printf "| %s | %.0f | %.2f | %.2f | %d | %s | %s | %s | %.2f of %d | %s | %s | %s |\n", t, r,
            p50, p99, f, ms(o), pg == "" ? "n/a" : ms(pg), ms(c), busy, n,
            x == "" ? "n/a" : sprintf("%.2f", x / ok), q == "" ? "n/a" : sprintf("%.1f", q / ok),
            w == "" ? "n/a" : sprintf("%.2f", w) }'
}
scep_row() { # scep_row TITLE LABEL
    l=$2
    awk -v t="$1" -v r="$(get "$l" rate)" -v ok="$(get "$l" ok)" -v s="$(get "$l" seconds)" \
        -v p50="$(get "$l" p50_ms)" -v p99="$(get "$l" p99_ms)" -v f="$(get "$l" failed)" \
        -v o="$(get "$l" server_cpu_s)" -v c="$(get "$l" client_cpu_s)" \
        -v pg="$(get "$l" pg_cpu_s "$WORK/pg-lines")" -v x="$(get "$l" xacts "$WORK/pg-lines")" \
        -v q="$(get "$l" trips "$WORK/pg-lines")" -v all="$(get "$l" all "$WORK/pg-lines")" \
        'function ms(v) { return (v == "" || ok <= 0) ? "" : sprintf("%.2f", 1e3 * v / ok) }
    BEGIN {
        if (r == "") { printf "| %s | not measured | | | | | | | |\n", t; exit }
        d = all > 0 ? all : ok
        printf "| %s | %.1f | %.2f | %.2f | %d | %s | %s | %s | %s |\n", t, r, p50, p99, f, ms(o),
            pg == "" ? "n/a" : sprintf("%.2f", 1e3 * pg / d), x == "" ? "n/a" : sprintf("%.2f", x / d),
            q == "" ? "n/a" : sprintf("%.1f", q / d) }'
}

# What bounds each figure, from the figures themselves.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
R_S1=$(get sqlite-1 rate) R_S2=$(get sqlite-2 rate) R_P1=$(get postgres-1 rate) R_P2=$(get postgres-2 rate)
E_S=$(get sqlite-scep rate) E_P=$(get postgres-scep rate)
# What bounds each figure, worked out from the figures above (CPU per
# request against the cores, the round trips, the writer lock's waits).
analysis() {
    cat "$WORK/lines" "$WORK/pg-lines" | awk -v n="$NPROC" -v la="$LOAD" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } have[$1] = 1 }
    function per(l, k) { return v[l, "ok"] > 0 ? v[l, k] / v[l, "ok"] : 0 }
    # PostgreSQL counters per request: over all requests made while counted.
    function perpg(l, k,   d) { d = v[l, "all"] > 0 ? v[l, "all"] : v[l, "ok"]; return d > 0 ? v[l, k] / d : 0 }
    function ms(l, k) { return 1e3 * per(l, k) }
    function wait(l) { return v[l, "writes"] > 0 ? v[l, "lock_ms"] / v[l, "writes"] : 0 }
    # The share of the run the writer path spent in WAL flushes.
    function flush(l) { return v[l, "seconds"] > 0 ? v[l, "wal_sync_ms"] / 1e3 / v[l, "seconds"] : 0 }
    function flush_ms(l) { return v[l, "wal_syncs"] > 0 ? v[l, "wal_sync_ms"] / v[l, "wal_syncs"] : 0 }
    function cpu(l) { return ms(l, "server_cpu_s") + ms(l, "client_cpu_s") + ms(l, "pg_cpu_s") }
    function busy(l) { return v[l, "seconds"] > 0 ? (v[l, "server_cpu_s"] + v[l, "client_cpu_s"] + v[l, "pg_cpu_s"]) / v[l, "seconds"] : 0 }
    function cores(l) { if (cpu(l) <= 0) return "(not measured)"; return sprintf("%.0f/s; measured %.0f/s with %.2f of the %d cores busy with it (load average %s: other processes had the rest)",
        n / cpu(l) * 1e3, v[l, "rate"], busy(l), n, la) }
    END {
        if (have["sqlite-1"])
            printf "- **SQLite, one instance: CPU.** A check-in cost orchard %.3f ms and the load generator %.3f ms of CPU, in process with the store (no round trip; a commit is a WAL append, fsynced at checkpoints): %d idle cores would carry at most %s.\n",
                ms("sqlite-1", "server_cpu_s"), ms("sqlite-1", "client_cpu_s"), n, cores("sqlite-1")
        if (have["sqlite-2"] && have["sqlite-1"])
            printf "- **SQLite, two instances: the file lock.** Two processes on one file take turns for its write lock through SQLite (a writer that finds it taken waits in the busy handler, not in a queue), and share the same cores: a check-in cost orchard %.3f ms of CPU instead of %.3f, and the pair made %.2fx the rate of one instance: two instances on one file add no store capacity, only a second process on the same cores.\n",
                ms("sqlite-2", "server_cpu_s"), ms("sqlite-1", "server_cpu_s"), (v["sqlite-1", "rate"] > 0 ? v["sqlite-2", "rate"] / v["sqlite-1", "rate"] : 0)
        if (have["postgres-1"]) {
            l = "postgres-1"
            printf "- **PostgreSQL, one instance: round trips, and the CPU they cost.** A check-in took %.1f round trips to a backend process over the socket, in %.2f transactions (%.2f of them writes): %.1f statements of orchard'"'"'s SQL, and a begin and an end per transaction. PostgreSQL spent %.3f ms of CPU per check-in, of which %.3f ms executing statements: the rest is the protocol and the process switches of the round trips. orchard spent %.3f ms (libpq; %.3f on SQLite). All together %.3f ms per check-in against %.3f on SQLite: %d idle cores would carry at most %s.\n",
                per(l, "trips"), per(l, "xacts"), per(l, "writes"), per(l, "calls") - per(l, "control"),
                ms(l, "pg_cpu_s"), per(l, "exec_ms"), ms(l, "server_cpu_s"), ms("sqlite-1", "server_cpu_s"),
                cpu(l), cpu("sqlite-1"), n, cores(l)
        }
        if (have["postgres-1"]) {
            l = "postgres-1"; f = flush(l)
            printf "- **PostgreSQL: the writer path and the disk.** A write transaction holds the writer path (one writer at a time, across instances) until its COMMIT returns, and a durable COMMIT waits for its WAL flush. With one instance: %.0f writes/s, %.0f WAL flushes/s of %.2f ms each on average (pg_stat_wal), so the writer path spent %.0f%% of the run waiting for the disk. Check-ins write (%.2f write transactions each: Idle records last_seen_at too) and writes go one at a time, so each held the path for at most %.2f ms (the run over its writes), %.2f of them flushing: that path bounds check-ins/s however many instances send them. With synchronous_commit off (the WAL writer flushes in the background) the same load made %.0f check-ins/s, %.2fx. %s\n",
                v[l, "writes"] / v[l, "seconds"], v[l, "wal_syncs"] / v[l, "seconds"],
                flush_ms(l), 100 * f, per(l, "writes"),
                (v[l, "writes"] > 0 ? 1e3 * v[l, "seconds"] / v[l, "writes"] : 0), flush_ms(l),
                v["postgres-1-async", "rate"], (v[l, "rate"] > 0 ? v["postgres-1-async", "rate"] / v[l, "rate"] : 0),
                ((f >= 0.5) ? "The per-commit flush on this machine'"'"'s disk is what bounds the durable figures; with it off, the CPU per check-in is." : "The flush is half of that hold or less: the rest is the round trips made inside it, which the CPU per check-in and the machine'"'"'s other load stretch.")
        }
        if (have["postgres-2"]) {
            l = "postgres-2"; r2 = v["postgres-1", "rate"] > 0 ? v[l, "rate"] / v["postgres-1", "rate"] : 0
            printf "- **PostgreSQL, two instances: the writer lock.** The writers of both instances take turns on one advisory lock (within one instance the process'"'"'s writer flag queues them first, so with one instance nobody waits in PostgreSQL: %.2f backends on average, %.3f ms per write). With two: %.0f writes/s, each waited %.3f ms for the lock on average, %.2f backends waiting at any time, and the writer path spent %.0f%% of the run in WAL flushes (%.2f ms each; %.2f in the one-instance row); the pair made %.2fx one instance'"'"'s rate with %.3f ms of CPU per check-in in all. %s\n",
                v["postgres-1", "lock_waiters"], wait("postgres-1"), v[l, "writes"] / v[l, "seconds"], wait(l),
                v[l, "lock_waiters"], 100 * flush(l), flush_ms(l), flush_ms("postgres-1"), r2, cpu(l), (r2 >= 1.15 ? "More than one: within one instance the next writer takes the process'"'"'s writer flag before it sends BEGIN, so each hand-over costs its begin round trip inside the one-at-a-time section; a writer of the other instance already waits in PostgreSQL with its BEGIN sent, and gets the lock as the COMMIT ends." : r2 <= 0.9 ? "Less than one: the writes do not spread, they queue, and the second process competes for the same cores." : "About one: the writes queue on the one lock whichever instance sends them.")
        }
        if (have["sqlite-scep"]) {
            printf "- **SCEP: RSA.** An enrollment cost orchard %.2f ms of CPU on SQLite (three RSA-2048 private-key operations are most of it, see the SCEP section)", ms("sqlite-scep", "server_cpu_s")
            if (have["postgres-scep"])
                printf "; on PostgreSQL %.2f ms, plus %.2f ms in PostgreSQL for %.1f round trips in %.1f transactions, and the writer path spent %.0f%% of the run in WAL flushes: %.2fx the SQLite rate", ms("postgres-scep", "server_cpu_s"),
                    1e3 * perpg("postgres-scep", "pg_cpu_s"), perpg("postgres-scep", "trips"), perpg("postgres-scep", "xacts"), 100 * flush("postgres-scep"), (v["sqlite-scep", "rate"] > 0 ? v["postgres-scep", "rate"] / v["sqlite-scep", "rate"] : 0)
            printf ".\n"
        }
    }'
}
NOTE_PG=''
[ "$PG" = yes ] || NOTE_PG="**PostgreSQL was not measured**: $PG_NOTE."
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
cat >"$WORK/section.md" <<EOF
<!-- store:begin --> (bench/store/run.sh rewrites this section)
### The store: SQLite and PostgreSQL, one and two instances

\`bench/store/run.sh\`, in one run: \`orchard serve\` on SQLite (\`store.sqlite\`:
WAL with synchronous=NORMAL, so a commit survives kill -9 of orchard but is
fsynced at the next checkpoint, not at each commit) and on PostgreSQL
$PG_VERSION (\`store.postgres\`, a private cluster on a unix socket on this
machine: ${PG_SETTINGS:-not started}; every commit flushed to disk before it
returns, stricter than SQLite's store; one row with synchronous_commit off,
which leaves the flush to the WAL writer, shows what that costs), each with
one instance and with two instances on the one store. Check-ins: \`bench_checkin\`
(bench/checkin, on the Mac simulator): $MACS Macs enroll through the first
instance, then $CONNS keep-alive connections send presigned TokenUpdate and
Idle check-ins, alternating, for $SECS s; with two instances every second
Mac checks in at the second (\`--split-url\`), so each takes half the
connections; PostgreSQL's one- and two-instance rows run twice, in turn.
SCEP: \`bench_scep\` (bench/scep), $THREADS threads, the static challenge,
$SECS s, one instance. Measured $DATE on $NPROC CPU(s), $CPU;
build type $BUILD_TYPE; load average $LOAD at the end.

CPU columns are per request: orchard's (every instance), PostgreSQL's (the
postmaster and its backends, whole cluster) and the load generator's; "cores
busy" is all three over the wall time. Transactions and round trips per
request come from pg_stat_statements' counts of what orchard sent: a
transaction is one round trip to begin (BEGIN, its lock_timeout and the
writer lock or a first SELECT in one message), one per statement, one to
commit or roll back. "Lock waiters" is the mean number of orchard's
backends waiting on a lock (the writer path's advisory lock) in
pg_stat_activity, sampled 4 times a second.

| check-ins (TokenUpdate and Idle alternating) | requests/s | p50 ms | p99 ms | failed | orchard CPU ms | PostgreSQL CPU ms | client CPU ms | cores busy | transactions / request | round trips / request | lock waiters |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(checkin_row "SQLite, one instance" sqlite-1)
$(checkin_row "SQLite, two instances on one file" sqlite-2)
$(checkin_row "PostgreSQL, one instance" postgres-1)
$(checkin_row "PostgreSQL, one instance, synchronous_commit off" postgres-1-async)
$(checkin_row "PostgreSQL, two instances on one database" postgres-2)
$(checkin_row "PostgreSQL, one instance, again (the second beside it idle)" postgres-1-again)
$(checkin_row "PostgreSQL, two instances, again" postgres-2-again)

| SCEP enrollments | enrollments/s | p50 ms | p99 ms | failed | orchard CPU ms | PostgreSQL CPU ms | transactions / enrollment | round trips / enrollment |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
$(scep_row "SQLite, one instance" sqlite-scep)
$(scep_row "PostgreSQL, one instance" postgres-scep)

(orchard's CPU is over the timed enrollments; PostgreSQL's columns divide by
every enrollment \`bench_scep\` made while they were counted, its calibration
second's included.)

PostgreSQL / SQLite: check-ins $(ratio "$R_P1" "$R_S1") (one instance), $(ratio "$R_P2" "$R_S2") (two);
two instances / one: $(ratio "$R_S2" "$R_S1") on SQLite, $(ratio "$R_P2" "$R_P1") on PostgreSQL
($(ratio "$(get postgres-2-again rate)" "$(get postgres-1-again rate)") in the second round);
SCEP enrollments $(ratio "$E_P" "$E_S").
$NOTE_PG

$(awk -v la="$LOAD" -v n="$NPROC" 'BEGIN { split(la, l, " "); if (l[1] + 0 > n)
    printf "**The machine was busy** (load average %s on %d cores: other processes ran beside the benchmark), so rates move from run to run; each row'"'"'s CPU, round trip and flush figures say why it moved.\n", la, n }')

**What bounds each figure** (from the figures above):

$(analysis)

Reproduce: \`cmake --build build --target bench_store_run\` (BENCH_SECONDS,
BENCH_STORE_MACS, BENCH_STORE_CONNS, BENCH_SCEP_THREADS).
<!-- store:end -->
EOF
cat "$WORK/lines" "$WORK/pg-lines" >&2
for f in "$WORK"/statements-*.txt; do [ -f "$f" ] && { echo "== $f"; cat "$f"; } >&2; done
echo
cat "$WORK/section.md"
[ -z "${RESULTS:-}" ] || sh "$SRC/bench/results_section.sh" store "$RESULTS" <"$WORK/section.md"
exit $RC
