#!/bin/sh
# Make dev/: everything `orchard serve` needs on a developer's machine, once.
#   - the APNs key and SCEP CA from `orchard generate mdm-apple`;
#   - a self-signed DEVELOPMENT STAND-IN for the APNs certificate (topic
#     com.apple.mgmt.dev.orchard). Apple never issued it: pushes with it fail,
#     everything else (SCEP, enrollment profiles) works;
#   - a random static SCEP challenge;
#   - a CA and a 127.0.0.1 server certificate for the APNs stand-in, which
#     `make run` starts in Apple's place;
#   - dev/orchard.yml pointing at them and at the SQLite store dev/orchard.db.
# Existing files are kept, so the store and its recorded topic survive.
# usage: scripts/dev_setup.sh ORCHARD_BINARY [DIR]
set -eu
bin=$1
dir=${2:-dev}
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
[ -f "$cfg" ] && exit 0
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
