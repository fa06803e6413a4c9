#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when any is missing.
set -e
PKGS="lua5.4 liblua5.4-dev lua-cjson lua-busted lua-socket libcurl4-openssl-dev libssl-dev
libluajit2-5.1-dev luajit2 pkg-config gcc make clang libclang-rt-14-dev luarocks
libnginx-mod-http-lua lua-resty-core valgrind"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
