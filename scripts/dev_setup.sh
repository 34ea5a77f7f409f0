#!/bin/sh
# Make dev/: everything `orchard serve` needs on a developer's machine, once.
#   - the APNs key and SCEP CA from `orchard generate mdm-apple`;
#   - a self-signed DEVELOPMENT STAND-IN for the APNs certificate (topic
#     com.apple.mgmt.dev.orchard). Apple never issued it: pushes with it fail,
#     everything else (SCEP, enrollment profiles) works;
#   - a random static SCEP challenge;
#   - dev/orchard.yml pointing at them and at the SQLite store dev/orchard.db.
# Existing files are kept, so the store and its recorded topic survive.
# usage: scripts/dev_setup.sh ORCHARD_BINARY [DIR]
set -eu
bin=$1
dir=${2:-dev}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cfg=$dir/orchard.yml
[ -f "$cfg" ] && exit 0

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
YAML
echo "dev_setup: wrote $cfg (development stand-in APNs certificate, topic com.apple.mgmt.dev.orchard)"
