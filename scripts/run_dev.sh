#!/bin/sh
# `make run`'s last step: the APNs stand-in in Apple's place (in the
# background, on 127.0.0.1:2197, every push recorded in dev/apns-pushes.jsonl)
# and `orchard serve` in the foreground on the SQLite store in dev/. Stopping
# serve (Ctrl-C) stops the stand-in too.
# usage: scripts/run_dev.sh BUILD_DIR DEV_DIR
set -eu
build=$1
dev=$2
standin=$build/tests/support/apns_standin
[ -x "$standin" ] || { echo "run_dev: $standin is missing: build first" >&2; exit 1; }

"$standin" --cert "$dev/apns-standin.crt" --key "$dev/apns-standin.key" \
    --client-ca "$dev/apns-dev-standin.crt" --topic com.apple.mgmt.dev.orchard \
    --listen 127.0.0.1:2197 --record "$dev/apns-pushes.jsonl" >"$dev/apns-standin.log" 2>&1 &
standin_pid=$!
trap 'kill $standin_pid 2>/dev/null; wait $standin_pid 2>/dev/null || true' EXIT INT TERM
i=0
until grep -q '^listening' "$dev/apns-standin.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $standin_pid 2>/dev/null; then
        echo "run_dev: the APNs stand-in did not start:" >&2
        cat "$dev/apns-standin.log" >&2
        exit 1
    fi
    sleep 0.05
done
echo "APNs stand-in: https://127.0.0.1:2197 (pushes recorded in $dev/apns-pushes.jsonl)"
"$build/orchard" serve --config "$dev/orchard.yml"
