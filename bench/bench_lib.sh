# Sourced by the benchmark drivers (bench/*/run.sh): one scratch folder,
# the background processes to stop however the run ends, a prefix for
# messages, and a free loopback port.
#   bench_setup NAME PIDVAR...   makes $WORK and stops the processes whose
#                                PIDs the named variables hold at exit
#   say MESSAGE...               "bench NAME: MESSAGE" on stderr
#   free_port                    a free TCP port on 127.0.0.1

bench_setup() {
    BENCH_NAME=$1
    shift
    BENCH_PID_VARS=$*
    WORK=$(mktemp -d)
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    for var in $BENCH_PID_VARS; do
        eval "pid=\${$var:-}"
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}

say() { echo "bench $BENCH_NAME: $*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
