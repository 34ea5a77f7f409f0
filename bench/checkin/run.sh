#!/bin/sh
# Check-in benchmark driver (the bench_checkin_run target runs it; `bench` too).
# Starts `orchard serve` on a fresh scripts/dev_setup.sh setup (SQLite store)
# on a free loopback port, makes an enrollment token and an API-only admin,
# then bench_checkin (tests/support/mac_sim underneath) enrolls the simulated
# Macs and measures:
#   1. signed check-ins/s: TokenUpdate and Idle alternating (mixed), Idle
#      only, TokenUpdate only, each for BENCH_SECONDS, with p50/p90/p99;
#   2. command round trips/s: BENCH_CHECKIN_COMMANDS DeviceInformation
#      commands queued through POST /api/latest/fleet/commands/run for every
#      Mac, then each Mac drains its queue (Idle -> command -> Acknowledged);
#   3. the share of the server's CPU time spent checking signatures, two ways:
#      `perf record` of the server process during a further mixed run
#      (inclusive time of orchard_checkin_identity), when perf works here
#      and BENCH_PERF is not 0; and the in-process cost of the same checks
#      (CMS verify + chain to the SCEP CA) times the measured rate over the
#      server's CPU time.
# Prints a markdown section on stdout and, with --results FILE, rewrites the
# checkin section of FILE.
#
#   run.sh --bench BIN --orchard-bin BIN --source-dir DIR [--build-type T] [--results FILE]
#
# BENCH_SECONDS (20), BENCH_CHECKIN_MACS (200), BENCH_CHECKIN_CONNS (8),
# BENCH_CHECKIN_COMMANDS (10), BENCH_PERF (1), BENCH_PERF_SECONDS (8).
set -eu

SECS=${BENCH_SECONDS:-20}
MACS=${BENCH_CHECKIN_MACS:-200}
CONNS=${BENCH_CHECKIN_CONNS:-8}
COMMANDS=${BENCH_CHECKIN_COMMANDS:-10}
PERF=${BENCH_PERF:-1}
PERF_SECS=${BENCH_PERF_SECONDS:-8}
BUILD_TYPE=unknown
while [ $# -gt 0 ]; do
    case "$1" in
        --bench) BENCH=$2 ;;
        --orchard-bin) ORCHARD=$2 ;;
        --source-dir) SRC=$2 ;;
        --build-type) BUILD_TYPE=$2 ;;
        --results) RESULTS=$2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
: "${BENCH:?--bench missing}" "${ORCHARD:?--orchard-bin missing}" "${SRC:?--source-dir missing}"

. "$SRC/bench/bench_lib.sh"
SERVE_PID='' PERF_PID=''
bench_setup checkin PERF_PID SERVE_PID

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
# The address by the environment (scripts/dev_setup.sh writes 8080); no limit
# on profile downloads per token, or 200 Macs could not enroll in a minute.
export ORCHARD_SERVER_ADDRESS=127.0.0.1:$PORT ORCHARD_MDM_ENROLL_DOWNLOADS_PER_MINUTE=0
sh "$SRC/scripts/dev_setup.sh" "$ORCHARD" "$WORK/dev" >"$WORK/dev_setup.log" 2>&1 ||
    { cat "$WORK/dev_setup.log" >&2; exit 1; }
CFG=$WORK/dev/orchard.yml
"$ORCHARD" serve --config "$CFG" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
i=0
until grep -q 'listening on http' "$WORK/serve.log"; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$SERVE_PID" 2>/dev/null; then
        say "orchard serve did not start:"; tail -n 20 "$WORK/serve.log" >&2; exit 1
    fi
    sleep 0.1
done
TOKEN=$("$ORCHARD" enroll-token create --name bench --config "$CFG" | tail -n 1)
API_TOKEN=$("$ORCHARD" user create --email bench@orchard.invalid --name bench --role admin \
    --api-only --config "$CFG" | tail -n 1)
ENROLL_URL="$BASE/api/mdm/apple/enroll?token=$TOKEN"
say "orchard serve (pid $SERVE_PID) on $BASE, $MACS Macs, $CONNS connections, ${SECS}s per phase"

# --- 1 and 2 --------------------------------------------------------------------
RC=0
"$BENCH" --enroll-url "$ENROLL_URL" --state "$WORK/macs" --macs "$MACS" --concurrency "$CONNS" \
    --seconds "$SECS" --mode mixed --mode idle --mode tokenupdate --commands "$COMMANDS" \
    --api "$BASE" --api-token "$API_TOKEN" --server-pid "$SERVE_PID" >"$WORK/lines" || RC=1
cat "$WORK/lines" >&2

# --- 3: perf ------------------------------------------------------------------------
PERF_NOTE='' PERF_ID='' PERF_HANDLE='' PERF_TOP='' PERF_PARTS=''
if [ "$PERF" = 0 ]; then
    PERF_NOTE="not run (BENCH_PERF=0)"
elif ! command -v perf >/dev/null; then
    PERF_NOTE="not run: perf is not installed (Debian package linux-perf)"
else
    perf record -F 499 --call-graph dwarf,16384 -p "$SERVE_PID" -o "$WORK/perf.data" \
        -- sleep "$PERF_SECS" >"$WORK/perf.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5
    "$BENCH" --enroll-url "$ENROLL_URL" --state "$WORK/macs" --macs "$MACS" --reuse \
        --concurrency "$CONNS" --seconds "$((PERF_SECS - 1))" --mode mixed --commands 0 \
        --verify-iters 1 >"$WORK/perf-lines" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=''
    if [ -s "$WORK/perf.data" ] &&
        perf report -i "$WORK/perf.data" --children --stdio --sort symbol >"$WORK/perf.txt" 2>/dev/null; then
        # Inclusive share of the samples whose stack holds the function.
        share() {
            awk -v f="$1" '$1 ~ /%$/ { for (i = 2; i <= NF; i++) if ($i == f) {
                gsub("%", "", $1); print $1; exit } }' "$WORK/perf.txt"
        }
        PERF_ID=$(share orchard_checkin_identity)
        PERF_HANDLE=$(share orchard_http_dispatch)
        PERF_PARTS=''
        # OSSL_DECODER_CTX_new_for_pkey: OpenSSL 3.0 decoding the signer
        # certificate's public key inside d2i_CMS_ContentInfo; BN_mod_exp_mont:
        # the RSA arithmetic itself.
        for f in d2i_CMS_ContentInfo OSSL_DECODER_CTX_new_for_pkey CMS_verify X509_verify_cert \
            BN_mod_exp_mont orchard_server_store_cert_lookup sqlite3_step orchard_logv; do
            v=$(share "$f")
            [ -n "$v" ] && PERF_PARTS="${PERF_PARTS:+$PERF_PARTS, }\`$f\` $v%"
        done
        perf report -i "$WORK/perf.data" --no-children -g none --stdio --sort dso,symbol \
            2>/dev/null | awk '$1 ~ /%$/ { sub(/( +-)+ *$/, ""); $1 = $1; print }' |
            head -n 10 >"$WORK/perf-top.txt" || true
        PERF_TOP=$(sed 's/^/    /' "$WORK/perf-top.txt")
        SAMPLES=$(sed -n 's/.*(\([0-9]*\) samples).*/\1/p' "$WORK/perf.log" | tail -n 1)
        PERF_NOTE="\`perf record -F 499 --call-graph dwarf -p <serve>\` over ${PERF_SECS}s of a mixed run (${SAMPLES:-?} samples)"
    else
        PERF_NOTE="not run: perf record failed here ($(tail -n 1 "$WORK/perf.log"))"
    fi
fi

# --- the table ------------------------------------------------------------------------
get() { # get PHASE MODE KEY
    awk -v p="$1" -v m="$2" -v k="$3" '{
        ok = 0; v = ""
        for (i = 1; i <= NF; i++) { split($i, kv, "=")
            if (kv[1] == "phase" && kv[2] == p) ok++
            if (kv[1] == "mode" && kv[2] == m) ok++
            if (kv[1] == k) v = kv[2] }
        if (ok == 2) { print v; exit } }' "$WORK/lines"
}
row() { # row TITLE PHASE MODE
    rate=$(get "$2" "$3" rate) rt=$(get "$2" "$3" round_trip_rate)
    [ "$2" = round_trip ] && shown=$rt || shown=$rate
    cpu=$(get "$2" "$3" server_cpu_s) sec=$(get "$2" "$3" seconds) ok=$(get "$2" "$3" ok)
    awk -v t="$1" -v r="$shown" -v p50="$(get "$2" "$3" p50_ms)" -v p90="$(get "$2" "$3" p90_ms)" \
        -v p99="$(get "$2" "$3" p99_ms)" -v f="$(get "$2" "$3" failed)" -v cpu="$cpu" -v s="$sec" \
        -v ok="$ok" -v vs="$(get "$2" "$3" verify_share)" 'BEGIN {
        if (r == "") { printf "| %s | not measured | | | | | | | |\n", t; exit }
        cores = (s > 0 && cpu >= 0) ? cpu / s : -1
        per = (ok > 0 && cpu >= 0) ? cpu * 1e3 / ok : -1
        printf "| %s | %.0f | %.2f | %.2f | %.2f | %d | %s | %s | %s |\n", t, r, p50, p90, p99, f,
            cores < 0 ? "n/a" : sprintf("%.2f", cores), per < 0 ? "n/a" : sprintf("%.3f", per),
            (vs == "" || vs == "nan") ? "" : sprintf("%.0f%%", 100 * vs) }'
}
MIXED=$(get checkin mixed rate)
VERDICT=$(awk -v r="${MIXED:-0}" 'BEGIN { print (r >= 3000) ? "yes" : "**NO**" }')
VERIFY_US=$(get checkin mixed verify_us)
# The machine is shared (other processes, the client): the CPU each request
# costs the server and the client gives the rate the cores could carry if
# nothing else ran, beside the measured one.
CEILING=$(awk -v ok="$(get checkin mixed ok)" -v s="$(get checkin mixed server_cpu_s)" \
    -v c="$(get checkin mixed client_cpu_s)" -v sec="$(get checkin mixed seconds)" \
    -v n="$(nproc)" -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    if (ok <= 0 || s <= 0) exit
    per = (s + c) / ok; busy = (s + c) / sec
    printf "CPU bound: a mixed check-in cost the server %.3f ms and the client %.3f ms of CPU, so %d idle cores would carry at most about %.0f/s; during the run the two together kept %.2f of %d cores busy (load average %s: the rest went to other processes).",
        1e3 * s / ok, 1e3 * c / ok, n, n / per, busy, n, la }')
NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
cat >"$WORK/section.md" <<EOF
<!-- checkin:begin --> (bench/checkin/run.sh rewrites this section)
### Signed check-ins and command round trips

\`bench/checkin/bench_checkin\` on the Mac simulator (\`tests/support/mac_sim\`):
$MACS simulated Macs enroll through the profile and SCEP, then $CONNS keep-alive
connections send signed requests (each with its Mdm-Signature; every Mac has
its own certificate from orchard's SCEP CA, over eight shared RSA-2048 keys to
spare the client key generation) to \`orchard serve\` on SQLite for ${SECS} s per
row. Requests are signed before the clock starts (a Mac's TokenUpdate and Idle
bodies do not change; the acknowledgements are signed for the command UUIDs
the benchmark queues), so the client's RSA work stays off the clock. Measured
$DATE on $NPROC CPU(s), $CPU; build type $BUILD_TYPE; load average
$(cut -d' ' -f1-3 /proc/loadavg) at the end.

| load | requests/s | p50 ms | p90 ms | p99 ms | failed | server cores busy | server CPU ms / request | signature checks (in-process estimate) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
$(row "check-ins, TokenUpdate and Idle alternating" checkin mixed)
$(row "check-ins, Idle only (no command queued)" checkin idle)
$(row "check-ins, TokenUpdate only" checkin tokenupdate)
$(row "command round trips (Idle -> DeviceInformation -> Acknowledged), per second" round_trip DeviceInformation)

Goal: 3,000 signed check-ins/s on this machine (mixed row): met: $VERDICT.
$CEILING

**Signature checks.** In process, one check as the route makes it once the
signer's certificate is cached (parse the CMS with the certificate taken
out, verify it over the body with the cached certificate; the chain to the
SCEP CA is checked once per certificate; no store look-up) costs
${VERIFY_US:-?} µs of CPU; the last column is that cost times the measured
rate over the server's CPU time. Parsing the whole message with the
certificate inside takes $(get parse cms cms_us) µs, without it $(get parse cms cms_nocerts_us) µs
(OpenSSL 3.0 decodes the certificate's public key on every parse): why the
route strips the certificate and finds it by its hash
(server_plugin/checkin/signer_cache.c).
perf: $PERF_NOTE${PERF_ID:+: \`orchard_checkin_identity\` (the signature and certificate checks, with the store look-up of the certificate) holds $PERF_ID% of the server's samples, request dispatch (\`orchard_http_dispatch\`, every route handler) $PERF_HANDLE%}.
${PERF_PARTS:+Inclusive shares of the server's samples by function: $PERF_PARTS.
}${PERF_TOP:+
Where the server's time goes (perf, self time, top symbols):

$PERF_TOP
}
Reproduce: \`cmake --build build --target bench_checkin_run\` (BENCH_SECONDS,
BENCH_CHECKIN_MACS, BENCH_CHECKIN_CONNS, BENCH_CHECKIN_COMMANDS, BENCH_PERF=0).
<!-- checkin:end -->
EOF
echo
cat "$WORK/section.md"
[ -z "${RESULTS:-}" ] || sh "$SRC/bench/results_section.sh" checkin "$RESULTS" <"$WORK/section.md"
exit $RC
