#!/bin/sh
# `make run`'s last step: the APNs stand-in in Apple's place (in the
# background, on 127.0.0.1:2197, every push recorded in dev/apns-pushes.jsonl),
# the DEP simulator in Apple Business Manager's (on 127.0.0.1:2198, with a
# few Macs assigned to this server whose serials are mac_sim's with --seed 2),
# and `orchard serve` in the foreground on the SQLite store in dev/, which
# syncs those Macs and assigns them its DEP profile. Stopping serve (Ctrl-C)
# stops the simulators too. It prints the admin pages' address and, when no
# admin can sign in yet, makes one and prints its password once.
# usage: scripts/run_dev.sh BUILD_DIR DEV_DIR
set -eu
build=$1
dev=$2
here=$(cd "$(dirname "$0")" && pwd)
standin=$build/tests/support/apns_standin
depsim=$build/tests/support/dep_sim/dep_sim
[ -x "$standin" ] || { echo "run_dev: $standin is missing: build first" >&2; exit 1; }
[ -x "$depsim" ] || { echo "run_dev: $depsim is missing: build first" >&2; exit 1; }
# DEP_DEVICES Macs in Apple Business Manager, DEP_SEED their mac_sim seed.
DEP_DEVICES=${DEP_DEVICES:-5}
DEP_SEED=${DEP_SEED:-2}

# A dev/ made before automatic enrollment gets its ABM files and settings.
sh "$here/dev_setup.sh" "$build/orchard" "$dev" --dep "$depsim"

# The admin pages (docs/ui.md): where they are, and someone to sign in as
# (said last, just before serve starts).
cfg=$dev/orchard.yml
address=$(sed -n 's/^  address: *//p' "$cfg" | head -n 1)
scheme=http
grep -q '^  tls_cert: *[^ ]' "$cfg" && scheme=https
pages=$scheme://${address:-127.0.0.1:8080}/login
if users=$("$build/orchard" user list --json --config "$cfg" 2>"$dev/user-list.log"); then
    if printf '%s' "$users" | python3 -c 'import json, sys
sys.exit(0 if any(u["role"] == "admin" and not u["api_only"] for u in json.load(sys.stdin)) else 1)'
    then
        first_admin="another user: $build/orchard user create --email you@example.com --name \"Your Name\" --role admin --generate-password --config $cfg"
    else
        # The first admin; its password is printed here only (to start over:
        # orchard user delete --email admin@orchard.invalid, then make run).
        created=$("$build/orchard" user create --email admin@orchard.invalid --name "First Admin" \
            --role admin --generate-password --config "$cfg" 2>"$dev/user-create.log") ||
            { echo "run_dev: cannot create the first admin:" >&2; cat "$dev/user-create.log" >&2; exit 1; }
        first_admin="first admin: admin@orchard.invalid, password (shown only this once): $(printf '%s\n' "$created" | tail -n 1)"
    fi
else
    echo "run_dev: cannot list the users:" >&2
    cat "$dev/user-list.log" >&2
    exit 1
fi

standin_pid='' depsim_pid=''
stop_peers() {
    for pid in $standin_pid $depsim_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_peers EXIT
trap 'exit 130' INT TERM

# wait_for NAME PID FILE: until FILE has a line starting "listening".
wait_for() {
    i=0
    until grep -q '^listening' "$3" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$2" 2>/dev/null; then
            echo "run_dev: the $1 did not start:" >&2
            cat "$3" >&2
            exit 1
        fi
        sleep 0.05
    done
}

"$standin" --cert "$dev/apns-standin.crt" --key "$dev/apns-standin.key" \
    --client-ca "$dev/apns-dev-standin.crt" --topic com.apple.mgmt.dev.orchard \
    --listen 127.0.0.1:2197 --record "$dev/apns-pushes.jsonl" >"$dev/apns-standin.log" 2>&1 &
standin_pid=$!
wait_for "APNs stand-in" "$standin_pid" "$dev/apns-standin.log"
echo "APNs stand-in: https://127.0.0.1:2197 (pushes recorded in $dev/apns-pushes.jsonl)"

"$depsim" serve --credentials "$dev/dep-credentials.json" --listen 127.0.0.1:2198 \
    --devices "$DEP_DEVICES" --seed "$DEP_SEED" --log "$dev/dep_sim-requests.log" \
    >"$dev/dep_sim.log" 2>&1 &
depsim_pid=$!
wait_for "DEP simulator" "$depsim_pid" "$dev/dep_sim.log"
echo "DEP simulator: http://127.0.0.1:2198 ($DEP_DEVICES Macs, mac_sim --seed $DEP_SEED; requests in $dev/dep_sim-requests.log)"
echo "automatic enrollment: $build/tests/support/mac_sim/mac_sim dep-enroll --server http://127.0.0.1:8080 --state $dev/dep-macs --seed $DEP_SEED --count 2"
echo "admin pages: $pages"
echo "$first_admin"
"$build/orchard" serve --config "$dev/orchard.yml"
