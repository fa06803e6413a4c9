#!/bin/sh
# SigV4 signing speed on one StartStreamSession request (602-byte JSON body, session token):
# gls.sign under lua5.4 and luajit, the C signer alone (both hashing modes), the bare OpenSSL
# hashing floor (SHA256_* and EVP), botocore's SigV4Auth and @smithy/signature-v4.
# CPU time per signature: the best of 3 rounds
# in each of REPS processes (separate processes because a shared machine makes whole runs
# slower or faster).
# Usage: sh bench/sign_bench.sh [seconds per round]   (env REPS, default 3)
cd "$(dirname "$0")/.." || exit 1
secs=${1:-1}
reps=${REPS:-3}
body=bench/sign_body.json
out=$(mktemp)
trap 'rm -f "$out"' EXIT

make --no-print-directory all >/dev/null || exit 1
mkdir -p build/bench
cc -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Icsrc -o build/bench/sign_hash \
  bench/sign_hash.c csrc/sigv4.c csrc/codec.c csrc/buf.c $(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto) || exit 1
for v in 5.4:lua5.4 jit:luajit; do
  mkdir -p "build/bench/${v%%:*}"
  cc -O2 -std=c99 -Wall -Wextra -Werror -fPIC -shared $(pkg-config --cflags "${v#*:}") \
    -o "build/bench/${v%%:*}/result_floor.so" bench/result_floor.c || exit 1
done

if [ ! -d bench/node_modules/@smithy/signature-v4 ] || [ ! -d bench/node_modules/@smithy/hash-node ]; then
  (cd bench && npm install --no-save --no-audit --no-fund --prefix . \
     @smithy/signature-v4 @smithy/hash-node >/dev/null 2>&1) || echo "npm install failed" >&2
fi
have_boto=0; /usr/bin/python3 -c "import botocore" 2>/dev/null && have_boto=1
[ "$have_boto" = 1 ] || echo "botocore not installed (apt-get install python3-botocore): skipped" >&2
have_smithy=0; [ -d bench/node_modules/@smithy/signature-v4 ] && have_smithy=1
[ "$have_smithy" = 1 ] || echo "@smithy/signature-v4 not installed: skipped" >&2

i=0
while [ "$i" -lt "$reps" ]; do
  i=$((i + 1))
  build/bench/sign_hash "$body" "$secs" >> "$out" || echo "C bench failed" >&2
  # luajit signs through the FFI (gameliftstreams.signer); luajit-capi through the C binding
  for run in lua5.4:5.4 luajit:jit luajit-capi:jit; do
    label=${run%%:*} v=${run#*:} lua=lua5.4
    [ "$v" = jit ] && lua=luajit
    # result-floor-capi rows only where the C binding signs (not beside the FFI path)
    noffi= floor="build/bench/$v/?.so;"; [ "$label" = luajit-capi ] && noffi=1
    [ "$label" = luajit ] && floor=
    GLS_NO_FFI=$noffi LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/$v/?.so;$floor;" \
      "$lua" bench/sign_bench.lua "$body" "$secs" | sed "s/^/$label /" >> "$out" || echo "$label bench failed" >&2
  done
  [ "$have_boto" = 1 ] && /usr/bin/python3 bench/sign_bench.py "$body" "$secs" >> "$out"
  [ "$have_smithy" = 1 ] && (cd bench && node sign_bench.js sign_body.json "$secs") >> "$out"
done

awk '
  $1 == "sizes" { sizes = "request: " $2 " " $3 " " $4; next }
  {
    name = $1; if (NF == 3) name = $1 " " $2
    if (!(name in ns)) { order[++n] = name; ns[name] = $NF }
    if ($NF + 0 < ns[name] + 0) ns[name] = $NF
  }
  END { bare = ns["bare_hash"]; evp = ns["bare_hash_evp"]; smithy = ns["smithy"]; print sizes }
  END {
    printf "%-30s %10s %12s %8s %10s %12s\n", "signer", "ns/sign", "signs/s", "x bare", "x bare_evp",
      "x faster than smithy"
    for (i = 1; i <= n; i++) {
      k = order[i]
      printf "%-30s %10.0f %12.0f %8s %10s %12s\n", k, ns[k], 1e9 / ns[k],
        bare ? sprintf("%.2f", ns[k] / bare) : "-", evp ? sprintf("%.2f", ns[k] / evp) : "-",
        smithy ? sprintf("%.1f", smithy / ns[k]) : "-"
    }
  }' "$out"
