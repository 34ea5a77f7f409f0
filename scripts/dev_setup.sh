#!/bin/sh
# Make dev/: everything `orchard serve` needs on a developer's machine, once.
#   - the APNs key and SCEP CA from `orchard generate mdm-apple`;
#   - a self-signed DEVELOPMENT STAND-IN for the APNs certificate (topic
#     com.apple.mgmt.dev.orchard). Apple never issued it: pushes with it fail,
#     everything else (SCEP, enrollment profiles) works;
#   - a random static SCEP challenge;
#   - a CA and a 127.0.0.1 server certificate for the APNs stand-in, which
#     `make run` starts in Apple's place;
#   - dev/orchard.yml pointing at them and at the SQLite store dev/orchard.db;
#   - with --dep DEP_SIM: automatic enrollment against the DEP simulator
#     (tests/support/dep_sim) that `make run` starts on 127.0.0.1:2198: the ABM
#     key pair from `orchard generate mdm-apple-bm`, the simulator's account
#     credentials, a server token for them from `dep_sim token`, and the
#     mdm.apple_bm_* and mdm.apple_dep_url settings in dev/orchard.yml.
# Existing files are kept, so the store and its recorded topic survive.
# usage: scripts/dev_setup.sh ORCHARD_BINARY [DIR] [--dep DEP_SIM_BINARY]
set -eu
bin=$1
dir=${2:-dev}
depsim=
if [ $# -ge 4 ] && [ "$3" = --dep ]; then
    depsim=$4
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cfg=$dir/orchard.yml

umask 077
if [ ! -f "$dir/scep-ca.crt" ]; then
    "$bin" generate mdm-apple --email dev@orchard.invalid --org "orchard development" \
        --apns-key "$dir/apns.key" --apns-csr "$dir/apns.csr" \
        --scep-cert "$dir/scep-ca.crt" --scep-key "$dir/scep-ca.key" --force --replace-scep-ca \
        >/dev/null
fi
if [ ! -f "$dir/apns-dev-standin.crt" ]; then
    openssl req -new -x509 -key "$dir/apns.key" -days 365 -sha256 \
        -subj "/UID=com.apple.mgmt.dev.orchard/CN=DEVELOPMENT STAND-IN APNs (not from Apple)/O=orchard development" \
        -out "$dir/apns-dev-standin.crt"
fi
# The APNs stand-in (tests/support/apns_standin) plays Apple's push service
# on 127.0.0.1:2197 for `make run`: its own CA and a server certificate for
# 127.0.0.1, trusted by orchard through mdm.apple_apns_ca only.
if [ ! -f "$dir/apns-standin.crt" ]; then
    openssl req -new -x509 -newkey rsa:2048 -nodes -days 365 -sha256 \
        -subj "/CN=orchard development APNs stand-in CA" \
        -keyout "$dir/apns-standin-ca.key" -out "$dir/apns-standin-ca.crt" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
        -keyout "$dir/apns-standin.key" -out "$dir/apns-standin.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
        >"$dir/apns-standin.ext"
    openssl x509 -req -in "$dir/apns-standin.csr" -CA "$dir/apns-standin-ca.crt" \
        -CAkey "$dir/apns-standin-ca.key" -CAcreateserial -days 365 -sha256 \
        -extfile "$dir/apns-standin.ext" -out "$dir/apns-standin.crt" 2>/dev/null
    rm -f "$dir/apns-standin.csr" "$dir/apns-standin.ext"
fi
# A dev/ from before the APNs stand-in: point it at the stand-in once.
if [ -f "$cfg" ] && ! grep -q apple_apns_url "$cfg" && [ -f "$dir/apns-standin-ca.crt" ]; then
    printf '  apple_apns_url: https://127.0.0.1:2197\n  apple_apns_ca: %s\n' \
        "$dir/apns-standin-ca.crt" >>"$cfg"
fi
if [ ! -f "$cfg" ]; then
challenge=$(openssl rand -hex 24)
cat >"$cfg" <<YAML
# Development configuration made by scripts/dev_setup.sh. The APNs certificate
# is a self-signed stand-in (topic com.apple.mgmt.dev.orchard): Apple's push
# service refuses it. Replace it with yours from the Apple Push Certificates
# Portal for real devices.
server:
  address: 127.0.0.1:8080
store:
  sqlite: $dir/orchard.db
org_info:
  org_name: orchard development
mdm:
  apple_apns_cert: $dir/apns-dev-standin.crt
  apple_apns_key: $dir/apns.key
  apple_scep_cert: $dir/scep-ca.crt
  apple_scep_key: $dir/scep-ca.key
  apple_scep_challenge: $challenge
  # Pushes go to the APNs stand-in that make run starts (not to Apple).
  apple_apns_url: https://127.0.0.1:2197
  apple_apns_ca: $dir/apns-standin-ca.crt
YAML
echo "dev_setup: wrote $cfg (development stand-in APNs certificate, topic com.apple.mgmt.dev.orchard)"
fi
[ -n "$depsim" ] || exit 0

# Automatic enrollment: the DEP simulator plays Apple Business Manager for
# one MDM server account whose four OAuth values are random per dev/. The
# token is sealed to the ABM certificate, as ABM seals the one it hands out.
[ -x "$depsim" ] || { echo "dev_setup: $depsim is missing: build dep_sim first" >&2; exit 1; }
if [ ! -f "$dir/abm.key" ]; then
    "$bin" generate mdm-apple-bm --public-key "$dir/abm.crt" --private-key "$dir/abm.key" \
        --force >/dev/null
    rm -f "$dir/abm-token.p7m"
fi
if [ ! -f "$dir/dep-credentials.json" ]; then
    printf '{"consumer_key": "CK_%s", "consumer_secret": "CS_%s", "access_token": "AT_%s", "access_secret": "AS_%s"}\n' \
        "$(openssl rand -hex 8)" "$(openssl rand -hex 16)" "$(openssl rand -hex 8)" \
        "$(openssl rand -hex 16)" >"$dir/dep-credentials.json"
    rm -f "$dir/abm-token.p7m"
fi
if [ ! -f "$dir/abm-token.p7m" ]; then
    "$depsim" token --cert "$dir/abm.crt" --credentials "$dir/dep-credentials.json" \
        --out "$dir/abm-token.p7m"
fi
if ! grep -q '^  apple_dep_url:' "$cfg"; then
    cat >>"$cfg" <<YAML
  # Automatic enrollment against the DEP simulator that make run starts on
  # 127.0.0.1:2198 (not Apple Business Manager); the token is dep_sim's.
  apple_bm_server_token: $dir/abm-token.p7m
  apple_bm_cert: $dir/abm.crt
  apple_bm_key: $dir/abm.key
  apple_dep_url: http://127.0.0.1:2198
YAML
    echo "dev_setup: automatic enrollment against the DEP simulator (http://127.0.0.1:2198) in $cfg"
fi
