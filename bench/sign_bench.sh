#!/bin/sh
# SigV4 signing speed on one StartStreamSession request (602-byte JSON body, session token):
# gls.sign under lua5.4 and luajit, the C signer alone, the bare OpenSSL hashing floor,
# botocore's SigV4Auth and @smithy/signature-v4. Best of 3 rounds, CPU time.
# Usage: sh bench/sign_bench.sh [seconds per round]
cd "$(dirname "$0")/.." || exit 1
secs=${1:-1}
body=bench/sign_body.json
out=$(mktemp)
trap 'rm -f "$out"' EXIT

make --no-print-directory all >/dev/null || exit 1
mkdir -p build/bench
cc -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Icsrc -o build/bench/sign_hash \
  bench/sign_hash.c csrc/sigv4.c $(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto) || exit 1

build/bench/sign_hash "$body" "$secs" >> "$out" || echo "C bench failed" >&2
for v in 5.4 jit; do
  lua=lua5.4; [ "$v" = jit ] && lua=luajit
  LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/$v/?.so;;" \
    "$lua" bench/sign_bench.lua "$body" "$secs" | sed "s/^/$lua /" >> "$out" || echo "$lua bench failed" >&2
done
if /usr/bin/python3 -c "import botocore" 2>/dev/null; then
  /usr/bin/python3 bench/sign_bench.py "$body" "$secs" >> "$out"
else
  echo "botocore not installed (apt-get install python3-botocore): skipped" >&2
fi
if [ ! -d bench/node_modules/@smithy/signature-v4 ] || [ ! -d bench/node_modules/@smithy/hash-node ]; then
  (cd bench && npm install --no-save --no-audit --no-fund --prefix . \
     @smithy/signature-v4 @smithy/hash-node >/dev/null 2>&1) || echo "npm install failed" >&2
fi
if [ -d bench/node_modules/@smithy/signature-v4 ]; then
  (cd bench && node sign_bench.js sign_body.json "$secs") >> "$out" || echo "smithy bench failed" >&2
else
  echo "@smithy/signature-v4 not installed: skipped" >&2
fi

awk '
  $1 == "sizes" { print "request: " $2 " " $3 " " $4; next }
  { name = $1; if (NF == 3) name = $1 " " $2; ns[name] = $NF; order[++n] = name }
  /^bare_hash/ { bare = $NF } /^smithy/ { smithy = $NF }
  END {
    printf "%-24s %10s %12s %10s %12s\n", "signer", "ns/sign", "signs/s", "x bare", "x faster than smithy"
    for (i = 1; i <= n; i++) {
      k = order[i]
      printf "%-24s %10.0f %12.0f %10s %12s\n", k, ns[k], 1e9 / ns[k],
        bare ? sprintf("%.2f", ns[k] / bare) : "-", smithy ? sprintf("%.1f", smithy / ns[k]) : "-"
    }
  }' "$out"
