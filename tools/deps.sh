#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when any is missing.
# Everything `make test` and `make demo` run is listed here (a fresh Debian 12 has none of it):
# openssl (the command) makes the TLS specs' certificates, nginx runs the OpenResty specs,
# liblua5.1-0-dev lets a spec check that the C core refuses PUC Lua 5.1's headers.
# lua-ldoc (run by lua5.1) and lua-discount (its markdown) build `make docs`, which make test checks.
set -e
PKGS="lua5.4 liblua5.4-dev lua-cjson lua-busted lua-socket libcurl4-openssl-dev libssl-dev
libluajit2-5.1-dev luajit2 pkg-config gcc make clang libclang-rt-14-dev luarocks
nginx libnginx-mod-http-lua lua-resty-core valgrind openssl ca-certificates liblua5.1-0-dev lua5.1 lua-ldoc lua-discount"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps: these Debian packages are missing and there is no sudo to install them:" >&2
    echo "  as root: apt-get install$missing" >&2
    exit 1
  fi
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
