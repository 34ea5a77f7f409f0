#!/bin/sh
# SCEP benchmark driver (the bench_scep_run target runs it; `bench` too). In
# one run: openssl speed rsa2048 (the RSA ceiling), micromdm's scepserver on a
# fresh depot, and orchard serve when it can be reached; each server must pass
# scep_check before bench_scep times it. Prints a table and rewrites the
# <!-- scep:begin --> ... <!-- scep:end --> section of bench/RESULTS.md.
#
#   run.sh --bench BIN --check BIN --results MD [--build-type T]
#          [--orchard-bin BIN --source-dir DIR]                 # start orchard serve
#          [--orchard-url URL --challenge C [--cacert PEM | --insecure] [--orchard-pid PID]]
#
# Orchard, in this order:
#  1. --orchard-url/--challenge (or ORCHARD_SCEP_URL/ORCHARD_SCEP_CHALLENGE):
#     a server that is already running; --orchard-pid adds its CPU time.
#  2. else, with DIR/scripts/dev_setup.sh present: `dev_setup.sh BIN TMP/dev`
#     makes a fresh setup (SCEP CA, challenge, SQLite store, orchard.yml) in a
#     temporary directory, server.address is moved to a free loopback port,
#     `BIN serve --config TMP/dev/orchard.yml` is started, and stopped after.
#     The challenge is the config's mdm.apple_scep_challenge; https (without
#     verification) when the config mentions TLS. Never touches DIR/dev/.
#  3. else it is skipped, and the section says so; so is a server that does
#     not answer GetCACaps within 20 s (e.g. a binary without `serve`).
# BENCH_SECONDS (10): load per server; BENCH_SCEP_THREADS (2): client
# threads; BENCH_SPEED_SECONDS (3): openssl speed's time per figure.
set -eu

SECONDS_PER_LOAD=${BENCH_SECONDS:-10}
THREADS=${BENCH_SCEP_THREADS:-2}
SPEED_SECONDS=${BENCH_SPEED_SECONDS:-3}
BUILD_TYPE=unknown
ORCHARD_BIN='' SRC='' ORCH_URL=${ORCHARD_SCEP_URL:-} ORCH_CHALLENGE=${ORCHARD_SCEP_CHALLENGE:-}
ORCH_TLS='' ORCH_PID=''
while [ $# -gt 0 ]; do
    case "$1" in
        --bench) BENCH=$2 ;;
        --check) CHECK=$2 ;;
        --results) RESULTS=$2 ;;
        --build-type) BUILD_TYPE=$2 ;;
        --orchard-bin) ORCHARD_BIN=$2 ;;
        --source-dir) SRC=$2 ;;
        --orchard-url) ORCH_URL=$2 ;;
        --challenge) ORCH_CHALLENGE=$2 ;;
        --cacert) ORCH_TLS="--cacert $2" ;;
        --insecure) ORCH_TLS=--insecure; shift; continue ;;
        --orchard-pid) ORCH_PID=$2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
: "${BENCH:?--bench missing}" "${CHECK:?--check missing}" "${RESULTS:?--results missing}"

. "$(dirname "$0")/../bench_lib.sh"
SCEP_PID='' SERVE_PID=''
bench_setup scep SCEP_PID SERVE_PID

# wait_ready URL PID: until GetCACaps answers 200 (20 s), or the process dies.
wait_ready() {
    i=0
    while [ $i -lt 200 ]; do
        code=$(curl -s -k -o /dev/null -w '%{http_code}' "$1?operation=GetCACaps" || true)
        [ "$code" = 200 ] && return 0
        [ -n "$2" ] && ! kill -0 "$2" 2>/dev/null && return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# --- machine ------------------------------------------------------------------
NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
KERNEL=$(uname -r)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# --- (a) the RSA ceiling --------------------------------------------------------
# sign/s of the last "rsa 2048 bits" line (with -multi, the summed one).
rsa_sign_rate() {
    openssl speed -seconds "$SPEED_SECONDS" "$@" rsa2048 2>/dev/null |
        awk '/^rsa 2048 bits/ { v = $6 } END { print v }'
}
say "openssl speed rsa2048, ${SPEED_SECONDS}s per figure, 1 core then $NPROC"
SIGN1=$(rsa_sign_rate)
SIGNN=$(rsa_sign_rate -multi "$NPROC")
say "RSA-2048 sign/s: $SIGN1 (1 core), $SIGNN ($NPROC cores)"

# --- (b) micromdm's scepserver --------------------------------------------------
command -v scepserver >/dev/null || { say "scepserver not installed (Debian package scep)"; exit 1; }
SCEP_CHALLENGE=bench-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
SCEP_PORT=$(free_port)
SCEP_URL=http://127.0.0.1:$SCEP_PORT/scep
scepserver ca -init -depot "$WORK/depot" -keySize 2048 >"$WORK/scepserver-ca.log" 2>&1
scepserver -depot "$WORK/depot" -port "$SCEP_PORT" -challenge "$SCEP_CHALLENGE" \
    >"$WORK/scepserver.log" 2>&1 &
SCEP_PID=$!
wait_ready "$SCEP_URL" "$SCEP_PID" || { say "scepserver did not start:"; cat "$WORK/scepserver.log" >&2; exit 1; }
say "scepserver $(scepserver -version 2>&1 | head -n 1) on $SCEP_URL, RSA-2048 CA, fresh depot"
if ! "$CHECK" --url "$SCEP_URL" --challenge "$SCEP_CHALLENGE" --renewal >"$WORK/check-scepserver.txt"; then
    cat "$WORK/check-scepserver.txt" >&2
    say "scep_check failed against scepserver: the requester, not the server, is suspect"
    exit 1
fi
# The depot is a file with no locking: concurrent requests race on its serial
# file and some fail. Its failures are reported, not fatal.
SCEP_LINE=$("$BENCH" --url "$SCEP_URL" --challenge "$SCEP_CHALLENGE" --threads "$THREADS" \
    --seconds "$SECONDS_PER_LOAD" --label scepserver --server-pid "$SCEP_PID") || true
[ -n "$SCEP_LINE" ] || { say "bench_scep against scepserver produced nothing"; exit 1; }
SCEP_ERRORS=$(grep -o 'err="[^"]*"' "$WORK/scepserver.log" | grep -v 'err="invalid challenge"' |
    sed "s|$WORK/||g" | sort | uniq -c | sort -rn | head -n 3 | sed 's/^ *//' | paste -sd ';' - || true)
kill "$SCEP_PID" 2>/dev/null || true
wait "$SCEP_PID" 2>/dev/null || true
SCEP_PID=

# --- (c) orchard serve ----------------------------------------------------------
# start_orchard: a fresh dev setup in $WORK/dev and `orchard serve` on it;
# sets ORCH_URL, ORCH_CHALLENGE, ORCH_TLS, SERVE_PID, or ORCH_NOTE on failure.
start_orchard() {
    rc=0
    sh "$SRC/scripts/dev_setup.sh" "$ORCHARD_BIN" "$WORK/dev" >"$WORK/dev_setup.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        last=$(tail -n 1 "$WORK/dev_setup.log")
        ORCH_NOTE="\`scripts/dev_setup.sh $(basename "$ORCHARD_BIN") DIR\` exited with status $rc${last:+: $last}"
        return 1
    fi
    cfg=$WORK/dev/orchard.yml
    [ -f "$cfg" ] || { ORCH_NOTE="scripts/dev_setup.sh made no orchard.yml"; return 1; }
    port=$(free_port)
    sed -i "0,/^\([[:space:]]*address[[:space:]]*:\).*/s//\1 127.0.0.1:$port/" "$cfg"
    ORCH_CHALLENGE=$(sed -n 's/^[[:space:]]*apple_scep_challenge[[:space:]]*:[[:space:]]*//p' "$cfg" |
        head -n 1 | sed 's/[[:space:]]*$//; s/^"\(.*\)"$/\1/')
    [ -n "$ORCH_CHALLENGE" ] || { ORCH_NOTE="no mdm.apple_scep_challenge in orchard.yml"; return 1; }
    ORCH_URL=http://127.0.0.1:$port/mdm/apple/scep
    if grep -Eiq '^[[:space:]]*[a-z_]*tls[a-z_]*[[:space:]]*:' "$cfg"; then
        ORCH_URL=https://127.0.0.1:$port/mdm/apple/scep
        ORCH_TLS=--insecure
    fi
    "$ORCHARD_BIN" serve --config "$cfg" >"$WORK/orchard.log" 2>&1 &
    SERVE_PID=$!
    if ! wait_ready "$ORCH_URL" "$SERVE_PID"; then
        ORCH_NOTE="\`orchard serve\` did not answer GetCACaps on $ORCH_URL ($(tail -n 1 "$WORK/orchard.log"))"
        return 1
    fi
}

ORCH_STATUS=skipped ORCH_NOTE='' ORCH_LINE='' ORCH_CHECK_OK=''
if [ -n "$ORCH_URL" ]; then
    [ -n "$ORCH_CHALLENGE" ] || { say "--orchard-url needs --challenge"; exit 2; }
    ORCH_STATUS=given
elif [ -n "$SRC" ] && [ -f "$SRC/scripts/dev_setup.sh" ] && [ -n "$ORCHARD_BIN" ]; then
    say "starting orchard serve on a fresh scripts/dev_setup.sh setup"
    if start_orchard; then
        ORCH_STATUS=started
        ORCH_PID=$SERVE_PID
    fi
else
    ORCH_NOTE="no --orchard-url given and no scripts/dev_setup.sh to start orchard serve with"
fi

if [ "$ORCH_STATUS" != skipped ]; then
    say "orchard serve ($ORCH_STATUS) on $ORCH_URL"
    # shellcheck disable=SC2086 # ORCH_TLS is one option, or an option and its value
    if "$CHECK" --url "$ORCH_URL" --challenge "$ORCH_CHALLENGE" $ORCH_TLS >"$WORK/check-orchard.txt"; then
        ORCH_CHECK_OK=1
    else
        cat "$WORK/check-orchard.txt" >&2
        ORCH_NOTE="orchard failed scep_check: $(grep '^FAIL' "$WORK/check-orchard.txt" | head -n 3 | sed 's/  */ /g' | paste -sd ';' -)"
    fi
    # shellcheck disable=SC2086
    ORCH_LINE=$("$BENCH" --url "$ORCH_URL" --challenge "$ORCH_CHALLENGE" $ORCH_TLS \
        --threads "$THREADS" --seconds "$SECONDS_PER_LOAD" --label orchard \
        ${ORCH_PID:+--server-pid "$ORCH_PID"}) || ORCH_BENCH_FAILED=1
    [ -n "$ORCH_LINE" ] || ORCH_NOTE="${ORCH_NOTE:+$ORCH_NOTE; }bench_scep against orchard produced nothing"
else
    say "orchard skipped: $ORCH_NOTE"
fi
if [ -n "$SERVE_PID" ]; then
    kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=
fi

# --- the table ------------------------------------------------------------------
TABLE=$(awk -v o="$ORCH_LINE" -v s="$SCEP_LINE" -v sign1="$SIGN1" -v signn="$SIGNN" -v n="$NPROC" '
function get(line, key,   k, i, kv, f) {
    k = split(line, f, " ")
    for (i = 1; i <= k; i++) { split(f[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
function cpu_ms(line,   c, ok) { c = get(line, "server_cpu_s"); ok = get(line, "ok")
    return (line == "" || c == "" || c < 0 || ok + 0 == 0) ? "" : c * 1000 / ok }
function fmt(v, f) { return v == "" ? "n/a" : sprintf(f, v) }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "n/a" : sprintf("%.2f", a / b) }
function row(title, a, b, f, goal, verdict) {
    printf "| %s | %s | %s | %s | %s | %s |\n", title, fmt(a, f), fmt(b, f), ratio(a, b), goal, verdict
}
BEGIN {
    have = o != ""
    ceil = signn / 3; half = ceil / 2
    orate = have ? get(o, "rate") : ""; srate = get(s, "rate")
    v1 = !have ? "not measured" : (srate > 0 && orate / srate >= 3) ? "yes" : "**NO**"
    v2 = !have ? "not measured" : (orate >= half) ? "yes" : "**NO**"
    om = cpu_ms(o); sm = cpu_ms(s); op = 1000 / sign1
    print "| metric | orchard | scepserver | orchard / scepserver | goal | orchard meets it |"
    print "|---|---:|---:|---:|---|---|"
    row("enrollments/s", orate, srate, "%.1f", ">= 3x scepserver", v1)
    printf "| share of the RSA ceiling (%.0f enrollments/s on %d cores) | %s | %s |  | >= 50%% (%.0f/s) | %s |\n",
        ceil, n, fmt(orate == "" ? "" : 100 * orate / ceil, "%.1f%%"), fmt(100 * srate / ceil, "%.1f%%"), half, v2
    row("PKIOperation round trip p50, ms", have ? get(o, "p50_ms") : "", get(s, "p50_ms"), "%.2f", "", "")
    row("PKIOperation round trip p99, ms", have ? get(o, "p99_ms") : "", get(s, "p99_ms"), "%.2f", "", "")
    row("failed enrollments", have ? get(o, "failed") : "", get(s, "failed"), "%d", "0", !have ? "" : get(o, "failed") == 0 ? "yes" : "**NO**")
    row("server CPU per enrollment, ms", om, sm, "%.2f", "", "")
    row("... in RSA-2048 private-key operations (3 is the floor)", om == "" ? "" : om / op, sm == "" ? "" : sm / op, "%.1f", "", "")
    row("client CPU while timed, cores", have ? get(o, "client_cpu_s") / get(o, "seconds") : "",
        get(s, "client_cpu_s") / get(s, "seconds"), "%.2f", "", "")
}')

ORCH_ABOUT=
case "$ORCH_STATUS" in
    skipped) ORCH_ABOUT="**orchard serve was not measured**: $ORCH_NOTE." ;;
    given) ORCH_ABOUT="orchard: a running \`orchard serve\` at $ORCH_URL${ORCH_PID:+ (pid $ORCH_PID)}." ;;
    started) ORCH_ABOUT="orchard: \`orchard serve\` on a fresh \`scripts/dev_setup.sh\` setup (its own RSA-2048 SCEP CA, challenge and SQLite store) at $ORCH_URL." ;;
esac
[ "$ORCH_STATUS" != skipped ] && [ -n "$ORCH_NOTE" ] && ORCH_ABOUT="$ORCH_ABOUT **$ORCH_NOTE.**"

FIGURES=$(cat <<EOF
<!-- scep:begin --> (bench/scep/run.sh rewrites this section)
### SCEP enrollments

\`bench/scep/bench_scep\` enrolls over HTTP with the tests' SCEP requester
(\`tests/support/scep_client.c\`): $THREADS client threads, one PKCSReq in flight
each, POST, keep-alive, for ${SECONDS_PER_LOAD} s per server. Requests (RSA-2048
keys, a fresh CSR, transactionID and senderNonce each) are built before the
clock starts and every reply is checked after it stops (CA signature, status,
nonces; one in 8 decrypted and its certificate verified), so the client's own
RSA work stays off the cores the server is measured on. Before timing, each
server must pass \`bench/scep/scep_check\` (good requests over POST, GET and
DES3 succeed with a certificate that chains to the CA; a wrong or missing
challenge, a bad signature and an envelope for another recipient are refused).

Measured $DATE on $NPROC CPU(s), $CPU (Linux $KERNEL); build type $BUILD_TYPE;
load average $LOAD when the run started.

$TABLE

**Ceiling:** one enrollment costs the CA at least three RSA-2048 private-key
operations (open the envelope, sign the certificate, sign the CertRep).
\`openssl speed -seconds $SPEED_SECONDS rsa2048\`: $SIGN1 sign/s on one core,
$SIGNN with \`-multi $NPROC\`, so at most $(awk -v a="$SIGN1" 'BEGIN{printf "%.0f", a/3}') enrollments/s per core and
$(awk -v a="$SIGNN" 'BEGIN{printf "%.0f", a/3}') on all $NPROC.$(awk -v a="$SIGN1" -v b="$SIGNN" -v n="$NPROC" 'BEGIN { if (n > 1 && b < 1.5 * a)
    printf " The cores were not idle (the %d-core figure is under 1.5x the single-core one): treat the ceiling as rough.", n }')

**Baseline (not orchard):** micromdm's \`scepserver\` $(scepserver -version 2>&1 | head -n 1)
(Debian package \`scep\`, Go), fresh file depot, RSA-2048 CA, challenge set,
on the loopback. It writes each certificate to its depot and rescans the
depot's index.txt on every issuance, and encrypts CertRep with DES-CBC. Its
depot has no lock: concurrent requests race on the serial file, which is why
it fails some enrollments${SCEP_ERRORS:+ (its log: $SCEP_ERRORS)}.

$ORCH_ABOUT

Reproduce: \`cmake --build build --target bench_scep_run\` (\`BENCH_SECONDS\`,
\`BENCH_SCEP_THREADS\`; \`ORCHARD_SCEP_URL\` and \`ORCHARD_SCEP_CHALLENGE\` point it
at a running orchard). By hand: \`build/bench/bench_scep --url URL --challenge C\`.
<!-- scep:end -->
EOF
)

echo
echo "$FIGURES"

# Replace the section in RESULTS.md (append it when it is not there yet).
printf '%s\n' "$FIGURES" | sh "$(dirname "$0")/../results_section.sh" scep "$RESULTS"
echo
say "figures written to $RESULTS"

# Orchard, once measured, must be right and must not fail an enrollment.
if [ "$ORCH_STATUS" != skipped ] && { [ -z "$ORCH_CHECK_OK" ] || [ -n "${ORCH_BENCH_FAILED:-}" ]; }; then
    say "orchard failed (see above)"
    exit 1
fi
