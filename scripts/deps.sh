#!/bin/sh
# Install the Debian packages orchard builds, tests and benchmarks with
# (scep: micromdm's scepclient and scepserver, the SCEP peers of the tests
# and of bench/scep; chromium, chromium-driver and python3-selenium: the
# headless browser of the web page tests, tests/support/browser/).
# Idempotent: asks dpkg first and says nothing when everything is present.
set -eu

PKGS="build-essential cmake pkg-config
libglib2.0-dev libthrift-c-glib-dev thrift-compiler
libsqlite3-dev sqlite3 libjansson-dev libcunit1-dev
libssl-dev openssl libplist-dev libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev
python3 python3-thrift procps libplist-utils
scep curl
libnghttp2-dev nghttp2-client
libpq-dev postgresql-15
linux-perf
chromium chromium-driver python3-selenium
libpq-dev postgresql-15"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps: missing packages:$missing; run as root or install them" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# postgresql-15: the tests need its binaries only (initdb, pg_ctl, postgres:
# tests/support/pg_cluster starts a private cluster on a socket of its own).
# Debian's package would also make a system cluster on port 5432 and start
# it where it can; orchard never uses it, so when we install the package,
# postgresql-common is told to make none.
case " $missing " in *" postgresql-15 "*)
    $SUDO apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
    $SUDO sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' \
        /etc/postgresql-common/createcluster.conf ;;
esac
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
