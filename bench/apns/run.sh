#!/bin/sh
# APNs benchmark driver (the bench_apns_run target runs it; `bench` too). In
# one run, against one APNs stand-in (tests/support/apns_standin, asking for
# a client certificate but not requiring one, since h2load has none):
#  (a) orchard's path: bench_apns pushes through the host's outbound HTTP/2
#      client (ABI 1.3) with a TLS client certificate;
#  (b) the anchor: h2load (Debian nghttp2-client), same path shape, headers,
#      body, connections and tokens.
# Prints the figures and a markdown table in bench/RESULTS.md's shape on
# stdout and, with --results FILE, rewrites the apns section of FILE.
#
#   run.sh --bench BIN --standin BIN [--build-type T] [--results FILE]
#
# BENCH_APNS_PUSHES (100000), BENCH_APNS_CONNECTIONS (2), BENCH_APNS_STREAMS
# (the h2load -m values tried, "100 1000": the best is the ceiling),
# BENCH_APNS_BATCH (bench_apns --batch, 5000), BENCH_APNS_TOKENS (distinct
# device tokens, 1000). The stand-in's CPU time per push is read from /proc
# for each client, since a client's frame pattern costs the server too.
set -eu

PUSHES=${BENCH_APNS_PUSHES:-100000}
CONNS=${BENCH_APNS_CONNECTIONS:-2}
STREAMS=${BENCH_APNS_STREAMS:-100 1000}
BATCH=${BENCH_APNS_BATCH:-5000}
TOKENS=${BENCH_APNS_TOKENS:-1000}
BUILD_TYPE=unknown
while [ $# -gt 0 ]; do
    case "$1" in
        --bench) BENCH=$2 ;;
        --standin) STANDIN=$2 ;;
        --build-type) BUILD_TYPE=$2 ;;
        --results) RESULTS=$2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
: "${BENCH:?--bench missing}" "${STANDIN:?--standin missing}"
command -v h2load >/dev/null || { echo "bench apns: h2load missing (Debian nghttp2-client)" >&2; exit 1; }

. "$(dirname "$0")/../bench_lib.sh"
STANDIN_PID=''
bench_setup apns STANDIN_PID

# --- certificates: the stand-in's server certificate, a CA and the push certificate
TOPIC=com.apple.mgmt.External.bench
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
# shellcheck disable=SC2086
{
    openssl req -x509 $ec -keyout "$WORK/server.key" -out "$WORK/server.pem" \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
    openssl req -x509 $ec -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -subj "/CN=bench push CA"
    openssl req $ec -keyout "$WORK/push.key" -out "$WORK/push.csr" -subj "/UID=$TOPIC/CN=APSP:bench"
    printf 'extendedKeyUsage=clientAuth\n' >"$WORK/ext.cnf"
    openssl x509 -req -in "$WORK/push.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
        -CAcreateserial -out "$WORK/push.pem" -days 2 -extfile "$WORK/ext.cnf"
} >/dev/null 2>&1 || { say "openssl could not make the test certificates"; exit 1; }

# --- the stand-in
mkfifo "$WORK/control"
"$STANDIN" --cert "$WORK/server.pem" --key "$WORK/server.key" --client-ca "$WORK/ca.pem" \
    --client-cert-optional --topic "$TOPIC" --max-streams 1000 \
    <"$WORK/control" >"$WORK/standin.out" 2>"$WORK/standin.err" &
STANDIN_PID=$!
exec 3>"$WORK/control" # held open: the stand-in's control lines (stats)
i=0
while ! grep -q '^listening ' "$WORK/standin.out" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] && kill -0 "$STANDIN_PID" 2>/dev/null || { say "stand-in did not start"; cat "$WORK/standin.err" >&2; exit 1; }
    sleep 0.1
done
URL=$(sed -n 's/^listening //p' "$WORK/standin.out")
say "stand-in on $URL, $PUSHES pushes each, $CONNS connections, $TOKENS tokens"

# standin_cpu: the stand-in's user+system CPU seconds so far.
TICK=$(getconf CLK_TCK)
standin_cpu() { awk -v t="$TICK" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$STANDIN_PID/stat"; }

# --- (a) orchard
S0=$(standin_cpu)
ORCH_LINE=$("$BENCH" --url "$URL" --cert "$WORK/push.pem" --key "$WORK/push.key" \
    --ca "$WORK/server.pem" --topic "$TOPIC" --pushes "$PUSHES" --batch "$BATCH" \
    --connections "$CONNS" --tokens "$TOKENS") || ORCH_FAILED=1
S1=$(standin_cpu)
# How many connections orchard's client opened (the stand-in counts handshakes).
echo stats >&3
i=0
while [ "$(grep -c '^pushes ' "$WORK/standin.out")" -lt 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ORCH_CONNS=$(sed -n 's/^pushes [0-9]* connections \([0-9]*\)$/\1/p' "$WORK/standin.out" | head -n 1)
say "orchard: ${ORCH_LINE:-nothing}"

# --- (b) h2load: the same URLs (one per token), headers and body
EXP=$(( $(date +%s) + 7 * 86400 ))
printf '{"mdm":"6e1f7c2a-5b3d-4f8e-9a0b-1c2d3e4f5a6b"}' >"$WORK/body.json"
awk -v u="$URL" -v n="$TOKENS" 'BEGIN { for (i = 0; i < n; i++) printf "%s/3/device/%08x%056x\n", u, i, 0 }' \
    >"$WORK/uris.txt"
H2_RATE='' H2_OK='' H2_M='' H2_ALL='' H2_SCPU='' H2_CCPU=''
# h2load's own CPU time, when GNU time is there to measure it
TIMER=''
[ -x /usr/bin/time ] && TIMER="/usr/bin/time -f %U+%S -o $WORK/h2load.time"
for m in $STREAMS; do
    S2=$(standin_cpu)
    # shellcheck disable=SC2086 # TIMER is a command and its options, or nothing
    $TIMER h2load -n "$PUSHES" -c "$CONNS" -m "$m" -i "$WORK/uris.txt" -d "$WORK/body.json" \
        -H "apns-topic: $TOPIC" -H "apns-push-type: mdm" -H "apns-expiration: $EXP" \
        -H "apns-priority: 10" -H "content-type: application/json" >"$WORK/h2load.txt" 2>&1 || true
    S3=$(standin_cpu)
    rate=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$WORK/h2load.txt")
    ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$WORK/h2load.txt")
    say "h2load -m $m: ${rate:-?} req/s, ${ok:-?} 2xx of $PUSHES"
    H2_ALL="${H2_ALL:+$H2_ALL, }-m $m: ${rate:-n/a}/s"
    # the ceiling: the best rate among runs that got every push answered 200
    if [ -n "$rate" ] && [ "${ok:-0}" = "$PUSHES" ] &&
        awk -v a="$rate" -v b="${H2_RATE:-0}" 'BEGIN { exit !(a > b) }'; then
        H2_RATE=$rate H2_OK=$ok H2_M=$m
        H2_SCPU=$(awk -v a="$S2" -v b="$S3" 'BEGIN { print b - a }')
        H2_CCPU=''
        [ -n "$TIMER" ] && H2_CCPU=$(awk -F+ '{ print $1 + $2 }' "$WORK/h2load.time")
    fi
done
[ -n "$H2_RATE" ] || { say "h2load got no run with every push answered:"; cat "$WORK/h2load.txt" >&2; }

exec 3>&-
kill "$STANDIN_PID"
wait "$STANDIN_PID" || true
STANDIN_PID=''
SUMMARY=$(tail -n 1 "$WORK/standin.out")
say "stand-in: $SUMMARY"

NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

TABLE=$(awk -v o="${ORCH_LINE:-}" -v h2="${H2_RATE:-}" -v h2ok="${H2_OK:-0}" -v n="$PUSHES" \
    -v c="$CONNS" -v date="$DATE" -v np="$NPROC" -v cpu="$CPU" \
    -v bt="$BUILD_TYPE" -v load="$LOAD" -v summary="$SUMMARY" -v h2m="$H2_M" -v h2all="$H2_ALL" \
    -v scpu_o="$(awk -v a="$S0" -v b="$S1" 'BEGIN { print b - a }')" -v scpu_h="$H2_SCPU" \
    -v ccpu_h="$H2_CCPU" -v oconns="${ORCH_CONNS:-?}" '
function get(line, key,   k, i, kv, f) {
    k = split(line, f, " ")
    for (i = 1; i <= k; i++) { split(f[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
BEGIN {
    rate = get(o, "rate"); ok = get(o, "ok")
    have = rate != "" && h2 != ""
    ratio = have && h2 > 0 ? rate / h2 : ""
    meets = rate == "" ? "not measured" : (rate >= 20000 && ratio != "" && ratio >= 0.5 && ok == n) ? "yes" : "**NO**"
    printf "\nMeasured %s on %d CPU(s), %s; build type %s; load average %s.\n", date, np, cpu, bt, load
    printf "%d pushes each to tests/support/apns_standin over %d TLS connections; stand-in: %s.\n\n", n, c, summary
    print "| metric | orchard | h2load | orchard / h2load | goal | orchard meets it |"
    print "|---|---:|---:|---:|---|---|"
    printf "| APNs pushes/s (%d pushes, %d connections) | %s | %s | %s | >= 20,000/s and >= 0.5x h2load | %s |\n",
        n, c, rate == "" ? "n/a" : sprintf("%.0f", rate), h2 == "" ? "n/a" : sprintf("%.0f", h2),
        ratio == "" ? "n/a" : sprintf("%.2f", ratio), meets
    printf "| pushes answered 200 | %s | %s |  | all |  |\n", ok == "" ? "n/a" : ok, h2ok
    cs = get(o, "client_cpu_s")
    printf "| client CPU per push, us | %s | %s |  |  |  |\n", (cs == "" || ok + 0 == 0) ? "n/a" : sprintf("%.1f", cs * 1e6 / ok),
        ccpu_h == "" ? "n/a" : sprintf("%.1f", ccpu_h * 1e6 / n)
    printf "| stand-in CPU per push, us | %s | %s |  |  |  |\n", ok + 0 == 0 ? "n/a" : sprintf("%.1f", scpu_o * 1e6 / ok),
        scpu_h == "" ? "n/a" : sprintf("%.1f", scpu_h * 1e6 / n)
    printf "| TLS connections the client opened (of %d allowed) | %s | %d |  |  |  |\n", c, oconns, c
    printf "| settings | batch %s, client certificate | -m %s (best of %s), no client certificate |  |  |  |\n", get(o, "batch"), h2m == "" ? "n/a" : h2m, h2all
}')
SECTION=$(printf '%s\n' "<!-- apns:begin --> (bench/apns/run.sh rewrites this section)" \
    "### APNs pushes: orchard's HTTP/2 client beside h2load" "$TABLE" "" "<!-- apns:end -->")
printf '%s\n' "$SECTION"
[ -z "${RESULTS:-}" ] || printf '%s\n' "$SECTION" | sh "$(dirname "$0")/../results_section.sh" apns "$RESULTS"

[ -z "${ORCH_FAILED:-}" ] || { say "orchard did not get every push answered 200"; exit 1; }
