#!/bin/sh
# Profile reconciler benchmark driver (the bench_reconcile_run target runs
# it; `bench` too). On SQLite and on PostgreSQL (a private cluster made
# durable, tests/support/pg_cluster/pg_cluster.sh), in one run:
#  - bench_reconcile_seed fills the store with HOSTS enrolled Macs (valid
#    push tokens, split across two teams, macOS 14.4: no Nudge profile), not
#    timed, and `orchard job run profiles.reconcile` runs once with no
#    profiles (the state the profiles arrive in);
#  - (a) `orchard apply -f` sets five profiles on each team; from its return
#    (the profiles committed) `orchard job run profiles.reconcile` runs until
#    every InstallProfile is queued (HOSTS x 5 queue rows);
#  - (b) passes with nothing to do, run again, median;
#  - the pushes the passes asked for, sent by `orchard job run apns.push` to
#    the APNs stand-in (tests/support/apns_standin), timed apart;
#  - the peer: the same rows queued by plain SQL (INSERT ... SELECT) by the
#    sqlite3 / psql command line in a copy of the store, which bounds what the
#    store itself costs.
# Prints a markdown section on stdout and, with --results FILE, rewrites the
# reconcile section of FILE.
#
#   run.sh --seed BIN --orchard-bin BIN --standin BIN --source-dir DIR
#          [--build-type T] [--results FILE]
#
# BENCH_RECONCILE_HOSTS (10000), BENCH_RECONCILE_IDLE_RUNS (5).
set -eu

HOSTS=${BENCH_RECONCILE_HOSTS:-10000}
IDLE_RUNS=${BENCH_RECONCILE_IDLE_RUNS:-5}
SERVE_INTERVAL=5s
PER_TEAM=5
MAX_PASSES=20
BUILD_TYPE=unknown
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) SEED=$2 ;;
        --orchard-bin) ORCHARD=$2 ;;
        --standin) STANDIN=$2 ;;
        --source-dir) SRC=$2 ;;
        --build-type) BUILD_TYPE=$2 ;;
        --results) RESULTS=$2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
: "${SEED:?--seed missing}" "${ORCHARD:?--orchard-bin missing}" "${STANDIN:?--standin missing}"
: "${SRC:?--source-dir missing}"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
. "$SRC/bench/bench_lib.sh"
STANDIN_PID='' SERVE_PID=''
bench_setup reconcile STANDIN_PID SERVE_PID
PG_SH=$SRC/tests/support/pg_cluster/pg_cluster.sh
PG_DIR=$WORK/pg
reconcile_cleanup() {
    [ -d "$PG_DIR" ] && sh "$PG_SH" stop "$PG_DIR" >/dev/null 2>&1 || true
    bench_cleanup
}
trap reconcile_cleanup EXIT
now_ms() { date +%s%3N; }
. "$SRC/bench/reconcile/section.sh" # get, and the section printed at the end
: >"$WORK/lines"
line() { echo "$*" >>"$WORK/lines"; } # line LABEL KEY=VALUE...

# ---- the configuration and the APNs stand-in ----------------------------------------
sh "$SRC/scripts/dev_setup.sh" "$ORCHARD" "$WORK/dev" >"$WORK/dev_setup.log" 2>&1 ||
    { cat "$WORK/dev_setup.log" >&2; exit 1; }
TOPIC=com.apple.mgmt.dev.orchard
mkfifo "$WORK/control"
"$STANDIN" --cert "$WORK/dev/apns-standin.crt" --key "$WORK/dev/apns-standin.key" \
    --topic "$TOPIC" --listen 127.0.0.1:0 \
    <"$WORK/control" >"$WORK/standin.out" 2>"$WORK/standin.err" &
STANDIN_PID=$!
exec 3>"$WORK/control" # held open: the stand-in's control lines (stats)
i=0
until grep -q '^listening ' "$WORK/standin.out" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] && kill -0 "$STANDIN_PID" 2>/dev/null ||
        { say "the APNs stand-in did not start"; cat "$WORK/standin.err" >&2; exit 1; }
    sleep 0.1
done
APNS_URL=$(sed -n 's/^listening //p' "$WORK/standin.out")
standin_pushes() {
    n=$(grep -c '^pushes ' "$WORK/standin.out" || true)
    echo stats >&3
    i=0
    while [ "$(grep -c '^pushes ' "$WORK/standin.out" || true)" -le "$n" ] && [ $i -lt 50 ]; do
        i=$((i + 1)); sleep 0.1
    done
    sed -n 's/^pushes \([0-9]*\).*/\1/p' "$WORK/standin.out" | tail -n 1
}
# config_for STORE_LINE FILE: dev_setup's config with this store and the
# stand-in, and for serve a short full-pass interval (SERVE_INTERVAL), so a
# pass with nothing to do comes round within the run.
config_for() {
    (umask 077; awk -v store="$1" -v url="$APNS_URL" -v iv="$SERVE_INTERVAL" '
        /^  sqlite: / { print store; next }
        /^  apple_apns_url: / { print "  apple_apns_url: " url
            print "  apple_profile_reconcile_interval: " iv; next }
        { print }' "$WORK/dev/orchard.yml" >"$2")
}

# ---- PostgreSQL: the cluster, durable, with pg_stat_statements -----------------------
PG=yes PG_NOTE='' PG_VERSION=''
if ! sh "$PG_SH" start "$PG_DIR" >"$WORK/pg.log" 2>&1 || [ -f "$PG_DIR/skip" ]; then
    PG=no PG_NOTE="PostgreSQL could not start here: $(cat "$PG_DIR/skip" 2>/dev/null || tail -n 1 "$WORK/pg.log")"
    say "$PG_NOTE"
else
    ADMIN_URI=$(cat "$PG_DIR/uri")
    PSQL=$(cat "$PG_DIR/bin")/psql
    psql() { "$PSQL" "$@"; }
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URI" \
        -c "alter system set fsync = on" -c "alter system set synchronous_commit = on" \
        -c "alter system set full_page_writes = on" -c "alter system set shared_buffers = '128MB'" \
        -c "alter system set shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    sh "$PG_SH" pause "$PG_DIR" && sh "$PG_SH" resume "$PG_DIR"
    PG_VERSION=$(psql -X -A -t -d "$ADMIN_URI" -c "show server_version")
fi
# pg_uri DB: the URI of database DB on the cluster.
pg_uri() { echo "$ADMIN_URI" | sed "s|/postgres?|/$1?|"; }

# orchard's CPU per run (user + system, 10 ms ticks) where GNU time is here:
# on a shared machine the wall times move with other work, CPU much less.
TIME_CMD=''
[ -x /usr/bin/time ] && TIME_CMD="/usr/bin/time -o $WORK/time.out -f %U,%S"
# CPU seconds of the whole cluster while PG_DATA is set (the PostgreSQL
# rows): the postmaster, its live backends, and the backends that ended (a
# job run's connections end with it), which the postmaster reaped into its
# children's time.
PG_DATA=''
pg_cpu() {
    pm=$(head -n 1 "$PG_DATA/postmaster.pid")
    { sed 's/^/pm /' "/proc/$pm/stat"
      for p in $(ps -o pid= --ppid "$pm"); do cat "/proc/$p/stat" 2>/dev/null || true; done; } |
        awk -v hz="$(getconf CLK_TCK)" '{ pm = $1 == "pm"; sub(/^.*\) /, ""); t += $12 + $13
            if (pm) t += $14 + $15 } END { printf "%.2f", t / hz }'
}
# pg_settle DB: wait (at most 5 s) until no backend of database DB is left, so
# the one that served a finished `orchard job run` is reaped into the
# postmaster's children's time instead of lost between reading the
# postmaster and listing its children.
pg_settle() {
    pm=$(head -n 1 "$PG_DATA/postmaster.pid")
    i=0
    while [ $i -lt 250 ] && ps -o args= --ppid "$pm" | grep -q " $1 \[local\]"; do
        sleep 0.02
        i=$((i + 1))
    done
}

# ---- the measurements -------------------------------------------------------------------
# run_job CFG JOB LOG: one `orchard job run`; JOB_MS is the run's own time
# (what the job printed), WALL_MS the process's (start-up, plugin load and
# store open included), PASS the reconciler's log line, if any.
run_job() {
    [ -z "$PG_DATA" ] || c0=$(pg_cpu)
    j0=$(now_ms)
    if ! $TIME_CMD "$ORCHARD" job run --config "$1" "$2" >"$WORK/job.out" 2>"$WORK/job.err"; then
        cat "$WORK/job.err" >>"$3"
        say "orchard job run $2 failed: $(tail -n 3 "$WORK/job.err")"
        return 1
    fi
    WALL_MS=$(($(now_ms) - j0))
    CPU_MS=$(awk -F, 'NF == 2 { v = $1 + $2 } END { if (v != "") printf "%d", v * 1000 }' \
        "$WORK/time.out" 2>/dev/null || true)
    PG_CPU_MS=''
    [ -z "$PG_DATA" ] || { pg_settle bench
        PG_CPU_MS=$(awk -v a="$c0" -v b="$(pg_cpu)" 'BEGIN { printf "%d", (b - a) * 1000 }'); }
    cat "$WORK/job.err" >>"$3"
    JOB_MS=$(sed -n 's/.*(\([0-9]*\) ms)$/\1/p' "$WORK/job.out" | tail -n 1)
    PASS=$(grep 'profiles: pass:' "$WORK/job.err" | tail -n 1 | sed 's/^.*profiles: pass: *//') || true
}
# count CFG KEY: one figure of bench_reconcile_seed's count (0 when absent).
count() {
    "$SEED" --config "$1" count >"$WORK/count.out" 2>>"$WORK/seed.err" || return 1
    awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$WORK/count.out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# measure LABEL CFG PEER_CFG: everything above on one store.
measure() {
    label=$1 cfg=$2 peer=$3 log=$WORK/$1.log
    expected=$((HOSTS * PER_TEAM))
    say "$label: seeding $HOSTS Macs"
    "$SEED" --config "$cfg" hosts --hosts "$HOSTS" --topic "$TOPIC" >>"$WORK/seed.out" 2>>"$WORK/seed.err" ||
        { say "$label: seeding failed: $(tail -n 3 "$WORK/seed.err")"; return 1; }
    "$SEED" --config "$peer" hosts --hosts "$HOSTS" --topic "$TOPIC" >>"$WORK/seed.out" 2>>"$WORK/seed.err" ||
        { say "$label: seeding the peer's store failed"; return 1; }
    "$SEED" --config "$cfg" profiles --out "$WORK/profiles" >"$WORK/profiles.out" 2>>"$WORK/seed.err"
    run_job "$cfg" profiles.reconcile "$log" || return 1
    line "$label-first" job_ms="$JOB_MS" wall_ms="$WALL_MS" pass="$(echo "$PASS" | tr ' ' '~')"

    # (a) apply, then passes until every install is queued: the passes'
    # processes back to back, this script's counts and samples between them
    # left out.
    APPLY=apply
    t0=$(now_ms)
    if "$ORCHARD" apply --config "$cfg" -f "$WORK/profiles/teams.yml" >"$WORK/apply.out" 2>>"$log"; then
        t_applied=$(now_ms)
    else
        # No `orchard apply` yet: the rows it would write, stored directly.
        APPLY=direct
        say "$label: orchard apply failed ($(tail -n 1 "$log")); storing the profiles directly"
        t0=$(now_ms)
        "$SEED" --config "$cfg" profiles --out "$WORK/profiles" --direct >/dev/null 2>>"$WORK/seed.err" ||
            { say "$label: storing the profiles failed"; return 1; }
        t_applied=$(now_ms)
    fi
    passes=0 queued=0 job_total=0 wall_total=0 cpu_total=0 pg_cpu_total=0 pass_lines=''
    while [ "$queued" -lt "$expected" ] && [ $passes -lt $MAX_PASSES ]; do
        [ "$label" = postgres ] && psql_q "select pg_stat_statements_reset()" >/dev/null &&
            X0=$(psql_q "select xact_commit + xact_rollback from pg_stat_database where datname = 'bench'")
        run_job "$cfg" profiles.reconcile "$log" || return 1
        passes=$((passes + 1))
        job_total=$((job_total + ${JOB_MS:-0})) wall_total=$((wall_total + WALL_MS))
        cpu_total=$((cpu_total + ${CPU_MS:-0})) pg_cpu_total=$((pg_cpu_total + ${PG_CPU_MS:-0}))
        [ "$label" = postgres ] && [ $passes -eq 1 ] && pg_pass_stats
        pass_lines="$pass_lines${pass_lines:+|}$(echo "$PASS" | tr ' ' '~')"
        queued=$(count "$cfg" queued_InstallProfile)
    done
    cp "$WORK/count.out" "$WORK/$label-count.out"
    [ "$queued" -eq "$expected" ] ||
        say "$label: $queued InstallProfile queued after $passes passes, $expected expected"
    line "$label-apply" apply="$APPLY" apply_ms=$((t_applied - t0)) passes=$passes \
        queued="$queued" expected="$expected" to_queued_ms="$wall_total" \
        job_ms="$job_total" wall_ms="$wall_total" cpu_ms="${CPU_MS:+$cpu_total}" \
        pg_cpu_ms="${PG_CPU_MS:+$pg_cpu_total}" pass="$pass_lines" \
        push_queue="$(awk '$1 == "push_queue" { print $2 }' "$WORK/count.out")" \
        host_profiles="$(awk '$1 ~ /^host_profiles_/ { n += $2 } END { print n + 0 }' "$WORK/count.out")" \
        commands="$(awk '$1 ~ /^commands_/ { n += $2 } END { print n + 0 }' "$WORK/count.out")" \
        queue_rows="$(awk '$1 ~ /^queued_/ { n += $2 } END { print n + 0 }' "$WORK/count.out")"

    # (b) passes with nothing to do.
    : >"$WORK/idle-job"; : >"$WORK/idle-wall"; : >"$WORK/idle-cpu"; : >"$WORK/idle-pg"
    idle_pass=''
    for _ in $(seq "$IDLE_RUNS"); do
        run_job "$cfg" profiles.reconcile "$log" || return 1
        echo "${JOB_MS:-0}" >>"$WORK/idle-job"; echo "$WALL_MS" >>"$WORK/idle-wall"
        [ -z "$CPU_MS" ] || echo "$CPU_MS" >>"$WORK/idle-cpu"
        [ -z "$PG_CPU_MS" ] || echo "$PG_CPU_MS" >>"$WORK/idle-pg"
        idle_pass=$PASS
    done
    line "$label-idle" job_ms="$(median <"$WORK/idle-job")" wall_ms="$(median <"$WORK/idle-wall")" \
        cpu_ms="$(median <"$WORK/idle-cpu")" pg_cpu_ms="$(median <"$WORK/idle-pg")" \
        runs="$IDLE_RUNS" pass="$(echo "$idle_pass" | tr ' ' '~')" \
        queue_rows="$(count "$cfg" queued_InstallProfile)"

    # The pushes the passes asked for, sent by the push job.
    p0=$(standin_pushes) pq=$(count "$cfg" push_queue) runs=0 push_ms=0
    while [ "$(count "$cfg" push_queue)" -gt 0 ] && [ $runs -lt 10 ]; do
        run_job "$cfg" apns.push "$log" || break
        runs=$((runs + 1)) push_ms=$((push_ms + ${JOB_MS:-0}))
    done
    line "$label-push" waiting="$pq" runs=$runs job_ms=$push_ms \
        sent=$(($(standin_pushes) - p0)) left="$(count "$cfg" push_queue)"

    # The peer: the same install rows by plain SQL in its own copy.
    "$ORCHARD" apply --config "$peer" -f "$WORK/profiles/teams.yml" >/dev/null 2>>"$log" ||
        "$SEED" --config "$peer" profiles --out "$WORK/profiles" --direct >/dev/null 2>>"$WORK/seed.err"
    peer_sql >"$WORK/peer.sql"
    t0=$(now_ms)
    if [ "$label" = sqlite ]; then
        sqlite3 "$WORK/peer.db" <"$WORK/peer.sql" >"$WORK/peer.out" 2>&1
    else
        psql -X -q -v ON_ERROR_STOP=1 -d "$(pg_uri peer)" -f "$WORK/peer.sql" >"$WORK/peer.out" 2>&1
    fi || { say "$label: the peer's SQL failed: $(tail -n 3 "$WORK/peer.out")"; return 1; }
    peer_ms=$(($(now_ms) - t0))
    line "$label-peer" ms=$peer_ms queued="$(count "$peer" queued_InstallProfile)"
    # A figure for fewer rows than asked is no figure: the run fails.
    [ "$queued" -eq "$expected" ] && [ "$(get "$label-peer" queued)" -eq "$expected" ]
}

# The peer's SQL, the same text on both stores: one InstallProfile command
# per profile, one queue row and one host-profile row per Mac and profile of
# its team, one push per Mac, in one transaction; the command is the
# profile's bytes (an InstallProfile carries them base64'd: about as many).
peer_sql() {
    cat <<'EOF'
BEGIN;
INSERT INTO mdm_commands (command_uuid, request_type, command, created_by, created_at)
  SELECT 'PEER-' || id, 'InstallProfile', content, 'peer', 0 FROM mdm_profiles;
INSERT INTO mdm_command_queue (udid, command_uuid, status, queued_at, updated_at)
  SELECT e.udid, 'PEER-' || p.id, 'Pending', 0, 0
  FROM mdm_enrollments e JOIN mdm_profiles p ON p.team_id = e.team_id
  WHERE e.enabled = 1;
INSERT INTO mdm_host_profiles (udid, identifier, profile_id, name, checksum, payload_uuid,
    operation, status, command_uuid, updated_at)
  SELECT e.udid, p.identifier, p.id, p.name, p.checksum, p.payload_uuid, 'install', 'pending',
    'PEER-' || p.id, 0
  FROM mdm_enrollments e JOIN mdm_profiles p ON p.team_id = e.team_id
  WHERE e.enabled = 1;
INSERT INTO apns_push_queue (udid, attempts, next_attempt_at, queued_at)
  SELECT udid, 0, 0, 0 FROM mdm_enrollments WHERE enabled = 1 AND push_token_valid = 1
  ON CONFLICT (udid) DO NOTHING;
COMMIT;
EOF
}

psql_q() { psql -X -A -t -q -d "$(pg_uri bench)" -c "$1"; }
# After the first pass on PostgreSQL: its statements, round trips and the
# statements that took the most time (pg_stat_statements, this database).
pg_pass_stats() {
    X1=$(psql_q "select xact_commit + xact_rollback from pg_stat_database where datname = 'bench'")
    psql_q "select sum(calls), sum(rows), round(sum(total_exec_time)::numeric, 1) from pg_stat_statements
            where dbid = (select oid from pg_database where datname = 'bench')
              and query not like '%pg_stat%'" >"$WORK/pg-calls"
    psql_q "select calls, rows, round(total_exec_time::numeric, 1), regexp_replace(left(query, 90), '\s+', ' ', 'g')
            from pg_stat_statements where dbid = (select oid from pg_database where datname = 'bench')
              and query not like '%pg_stat%' order by total_exec_time desc limit 4" >"$WORK/pg-top"
    IFS='|' read -r calls rows exec_ms <"$WORK/pg-calls" || true
    # Two of the transactions counted are this script's own reads.
    line postgres-stats calls="$calls" rows="$rows" exec_ms="$exec_ms" xacts=$((X1 - X0 - 2))
}

# log_ms LINE: a log line's time (its ISO 8601 UTC prefix) in unix ms.
log_ms() { date -u -d "$(echo "$1" | cut -d' ' -f1)" +%s%3N; }
# wait_for SECONDS COMMAND...: run COMMAND every 0.3 s until it succeeds
# (the times come from serve's log, so a slow poll loses no precision and
# takes fewer cores from the server it watches).
wait_for() {
    limit=$(($(now_ms) + $1 * 1000)); shift
    until "$@"; do
        [ $? -eq 1 ] && [ "$(now_ms)" -lt "$limit" ] || return 1
        sleep 0.3
    done
}
# installs_since N: the InstallProfile count of the pass lines after the Nth.
installs_since() {
    grep 'profiles: pass:' "$SLOG" | tail -n +$(($1 + 1)) |
        sed -n 's/.* \([0-9]*\) installs.*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}
# proc_cpu PID: a process's user + system CPU seconds so far.
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
passes_in_log() { grep -c 'profiles: pass:' "$SLOG" || true; }
all_installed() { [ "$(installs_since "$N0")" -ge "$expected" ]; }
more_passes() { [ "$(passes_in_log)" -gt "$1" ]; }
push_drained() { [ "$(count "$cfg" push_queue)" -eq 0 ]; }
serving() {
    kill -0 "$SERVE_PID" 2>/dev/null || { say "orchard serve ended"; return 2; }
    grep -q 'listening on http' "$SLOG"
}

# serve_phase LABEL CFG: (a) as a running server sees it. A third store,
# seeded the same; `orchard serve` on it runs the reconciler every 2 s (a
# marker check; a full pass when the marker moved or the interval passed)
# and the push job, to the stand-in. From `orchard apply`'s return to the
# log line of the pass that queued the last install; then until the pushes
# are sent; then the next full pass with nothing to do, from its log line.
serve_phase() {
    label=$1 cfg=$2 SLOG=$WORK/$1-serve.log expected=$((HOSTS * PER_TEAM))
    "$SEED" --config "$cfg" hosts --hosts "$HOSTS" --topic "$TOPIC" >>"$WORK/seed.out" 2>>"$WORK/seed.err" ||
        { say "$label: seeding the serve store failed"; return 1; }
    ORCHARD_SERVER_ADDRESS=127.0.0.1:$(free_port) "$ORCHARD" serve --config "$cfg" >"$SLOG" 2>&1 &
    SERVE_PID=$!
    wait_for 30 serving && wait_for 30 more_passes 0 ||
        { say "$label: orchard serve did not start a pass:"; tail -n 20 "$SLOG" >&2; return 1; }
    N0=$(passes_in_log) p0=$(standin_pushes) s0=$(proc_cpu "$SERVE_PID")
    t0=$(now_ms)
    "$ORCHARD" apply --config "$cfg" -f "$WORK/profiles/teams.yml" >/dev/null 2>>"$SLOG" ||
        "$SEED" --config "$cfg" profiles --out "$WORK/profiles" --direct >/dev/null 2>>"$WORK/seed.err"
    t_applied=$(now_ms)
    if wait_for 60 all_installed; then
        s1=$(proc_cpu "$SERVE_PID")
        n=$(passes_in_log)
        last=$(grep 'profiles: pass:' "$SLOG" | tail -n 1)
        t_done=$(log_ms "$last")
        passes=$((n - N0))
        # The pass began its parts' sum before its line: the wait for the
        # marker check is what comes before that.
        pass_ms=$(echo "$last" | awk '{ for (i = 2; i <= NF; i++) if ($i == "ms," || $i == "ms")
            t += $(i - 1) } END { printf "%.0f", t }')
        wait_for 60 push_drained || true
        t_pushed=$(now_ms)
        # The second full pass from here: the first may have begun while
        # the push job was still writing its outcomes.
        d=$(passes_in_log)
        wait_for 20 more_passes $((d + 1)) || true
        idle=$(grep 'profiles: pass:' "$SLOG" | tail -n +$((d + 2)) | head -n 1 | sed 's/^.*profiles: pass: *//')
        idle_ms=$(echo "$idle" | awk '{ for (i = 2; i <= NF; i++) if ($i == "ms," || $i == "ms")
            t += $(i - 1) } END { if (NR) printf "%.0f", t }')
        line "$label-serve" apply_ms=$((t_applied - t0)) to_queued_ms=$((t_done - t_applied)) \
            passes=$passes to_pushed_ms=$((t_pushed - t_applied)) sent=$(($(standin_pushes) - p0)) \
            last_pass_ms="$pass_ms" waited_ms=$((t_done - pass_ms - t_applied)) \
            cpu_ms="$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%d", (b - a) * 1000 }')" \
            pass="$(grep 'profiles: pass:' "$SLOG" | tail -n +$((N0 + 1)) | head -n $passes |
                sed 's/^.*profiles: pass: *//' | tr ' ' '~' | paste -sd'|')" \
            idle="$(echo "$idle" | tr ' ' '~')" idle_ms="$idle_ms"
    else
        say "$label: serve did not queue every install in 60 s"; tail -n 5 "$SLOG" >&2
    fi
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=''
    [ -n "$(get "$label-serve" to_queued_ms)" ]
}

# A machine without PostgreSQL measures SQLite and says so; a failure fails.
SQLITE_OK=yes POSTGRES_OK=yes
config_for "  sqlite: $WORK/orchard.db" "$WORK/sqlite.yml"
config_for "  sqlite: $WORK/peer.db" "$WORK/sqlite-peer.yml"
config_for "  sqlite: $WORK/serve.db" "$WORK/sqlite-serve.yml"
measure sqlite "$WORK/sqlite.yml" "$WORK/sqlite-peer.yml" || SQLITE_OK=no
serve_phase sqlite "$WORK/sqlite-serve.yml" || SQLITE_OK=no
if [ "$PG" = yes ]; then
    psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN_URI" -c "create database bench" -c "create database peer" \
        -c "create database serve" >/dev/null
    psql -X -q -d "$(pg_uri bench)" -c "create extension pg_stat_statements" >/dev/null
    config_for "  postgres: \"$(pg_uri bench)\"" "$WORK/postgres.yml"
    config_for "  postgres: \"$(pg_uri peer)\"" "$WORK/postgres-peer.yml"
    config_for "  postgres: \"$(pg_uri serve)\"" "$WORK/postgres-serve.yml"
    PG_DATA=$(cat "$PG_DIR/server_dir" 2>/dev/null || echo "$PG_DIR")/data
    measure postgres "$WORK/postgres.yml" "$WORK/postgres-peer.yml" || POSTGRES_OK=no
    serve_phase postgres "$WORK/postgres-serve.yml" || POSTGRES_OK=no
fi
cat "$WORK/lines" >&2

section >"$WORK/section.md"
echo
cat "$WORK/section.md"
[ -z "${RESULTS:-}" ] || sh "$SRC/bench/results_section.sh" reconcile "$RESULTS" <"$WORK/section.md"
[ "$SQLITE_OK" = yes ] && [ "$POSTGRES_OK" != no ]
