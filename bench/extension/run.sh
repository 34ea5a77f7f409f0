#!/bin/sh
# Extension benchmark driver (the `bench` target runs it): bench_extension
# against orchard.ext and against the Python SDK-style extension, in one run;
# prints both with ratios and rewrites the figures section of bench/RESULTS.md.
#   run.sh --bench BIN --orchard EXT --py-ext PY --gen-py DIR --results MD [--build-type T]
# BENCH_SECONDS (default 5) and BENCH_RUNS (default 5) tune the run.
set -eu

PY=/usr/bin/python3
SECONDS_PER_LOAD=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-5}
BUILD_TYPE=unknown
while [ $# -gt 0 ]; do
    case "$1" in
        --bench) BENCH=$2 ;;
        --orchard) ORCHARD=$2 ;;
        --py-ext) PY_EXT=$2 ;;
        --gen-py) GEN_PY=$2 ;;
        --results) RESULTS=$2 ;;
        --build-type) BUILD_TYPE=$2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift 2
done
: "${BENCH:?--bench missing}" "${ORCHARD:?--orchard missing}" "${PY_EXT:?--py-ext missing}"
: "${GEN_PY:?--gen-py missing}" "${RESULTS:?--results missing}"

echo "bench: $RUNS starts per extension, ${SECONDS_PER_LOAD}s of load per thread count" >&2
ORCHARD_LINE=$("$BENCH" --runs "$RUNS" --seconds "$SECONDS_PER_LOAD" --label orchard -- "$ORCHARD")
PY_LINE=$("$BENCH" --runs "$RUNS" --seconds "$SECONDS_PER_LOAD" --label python -- \
    "$PY" "$PY_EXT" --gen-py "$GEN_PY")

# field LINE KEY: the value of KEY=... in a bench_extension result line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
KERNEL=$(uname -r)

# One markdown table: metric | orchard | python | ratio | goal | orchard meets it?
TABLE=$(awk -v o="$ORCHARD_LINE" -v p="$PY_LINE" '
function get(line, key,   n, i, kv, f) {
    n = split(line, f, " ")
    for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
function ratio(a, b) { return (b + 0 > 0) ? sprintf("%.2f", a / b) : "n/a" }
function row(title, key, scale, fmt, goal, verdict,   a, b) {
    a = get(o, key) / scale; b = get(p, key) / scale
    printf "| %s | " fmt " | " fmt " | %s | %s | %s |\n", title, a, b, ratio(a, b), goal, verdict
}
BEGIN {
    su = get(o, "startup_ms") + 0; rss = get(o, "rss_kib") / 1024; g1 = get(o, "gen1") + 0
    print "| metric | orchard | python | orchard / python | goal | orchard meets it |"
    print "|---|---:|---:|---:|---|---|"
    row("exec -> registered and answering ping, median ms", "startup_ms", 1, "%.1f",
        "< 50 ms", su < 50 ? "yes" : "**NO**")
    row("exec -> registerExtension received, median ms", "register_ms", 1, "%.1f", "", "")
    row("VmRSS once registered, MiB (median of starts)", "rss_kib", 1024, "%.2f",
        "<= 4 MiB", rss <= 4 ? "yes" : "**NO**")
    row("VmRSS after the load, MiB", "rss_after_kib", 1024, "%.2f", "", "")
    row("generate/s, new connection per call, 1 thread", "gen1", 1, "%.0f",
        ">= 5000/s", g1 >= 5000 ? "yes" : "**NO**")
    row("generate/s, new connection per call, 2 threads", "gen2", 1, "%.0f", "", "")
    row("failed calls during the load", "errors", 1, "%d", "0", "")
}')

FIGURES=$(cat <<EOF
Measured $DATE on $NPROC CPU(s), $CPU (Linux $KERNEL); build type $BUILD_TYPE;
$RUNS starts per extension, ${SECONDS_PER_LOAD} s of load per thread count.

$TABLE

Start-up times of each run (ms): orchard $(field "$ORCHARD_LINE" startup_runs);
python $(field "$PY_LINE" startup_runs). The Python peer's table is
\`$(field "$PY_LINE" table)\` (same columns and row as \`orchard_plugins\`).
EOF
)

echo
echo "$FIGURES"

# Replace what lies between the markers in RESULTS.md (create it if needed).
BEGIN_MARK='<!-- figures:begin (bench/extension/run.sh rewrites this section) -->'
END_MARK='<!-- figures:end -->'
[ -f "$RESULTS" ] || printf '# orchard benchmark results\n\n## Figures\n\n%s\n%s\n' \
    "$BEGIN_MARK" "$END_MARK" >"$RESULTS"
grep -qF "$BEGIN_MARK" "$RESULTS" || printf '\n## Figures\n\n%s\n%s\n' \
    "$BEGIN_MARK" "$END_MARK" >>"$RESULTS"
TMP=$(mktemp)
FIGFILE=$(mktemp)
trap 'rm -f "$TMP" "$FIGFILE"' EXIT
printf '%s\n' "$FIGURES" >"$FIGFILE"
awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v fig="$FIGFILE" '
$0 == b { print; while ((getline line < fig) > 0) print line; skip = 1; next }
$0 == e { skip = 0 }
!skip { print }' "$RESULTS" >"$TMP"
cat "$TMP" >"$RESULTS"
echo
echo "bench: figures written to $RESULTS"
