#!/bin/sh
# Whole-call speed: GetStreamSession against a loopback nginx this script starts, answering every
# request with the same fixed 1 KB JSON (bench/http_reply.json; nginx checks no signature).
# Rows, each at 1, 16 and 64 calls in flight:
#   curl-multi   the ceiling: the same GET through one libcurl multi handle in C, no signing,
#                no parsing (bench/http_curl.c, built here)
#   curl-multi-signed   the same C loop sending the header lines of a signed call
#                (bench/signed_headers.txt): what any libcurl client pays to send them
#   lua5.4 / luajit   client:get_stream_session, blocking at 1, in 16/64 tasks (gls.spawn + gls.run)
#   aws-js-v3    @aws-sdk/client-gameliftstreams (npm, into bench/node_modules, gitignored)
#   boto3        Debian python3-boto3 (blocking only; installed here with apt-get when missing)
#   lua5.4-notrim (16, 64)   the lua5.4 row with glibc's heap trimming off
#                (MALLOC_TRIM_THRESHOLD_): what the allocator's brk ping-pong costs (bench/README.md)
#   lua5.4-raw / luajit-raw (1 in flight): pool:request of one signed request built once: the
#                transport as Lua sees it, without validation, signing or parsing
#   curl-multi-sts, lua5.4-sts, luajit-sts (not run unless named in ROWS): curl-multi-signed,
#                lua5.4 and luajit with a session token of 1,000 characters, the size of the
#                tokens STS, IMDS and the container endpoint hand out (the other rows use a
#                28-character one): what a real temporary-credentials call costs to send; their
#                "cpu x sign" is against curl-multi-sts
#   curl-raw-signed (not run unless named in ROWS): the curl-multi-signed request on connections
#                libcurl opens (CONNECT_ONLY), with the head written and the reply parsed by a
#                minimal loop of its own (bench/http_raw.c): what libcurl's per-transfer
#                machinery costs, measured against a transport that would write its own head
# Every round runs every row once; within a round the rows of one in-flight level run back to
# back in an order rotated each round, so each ratio compares runs made in the same conditions.
# Each row is its own process: WARM seconds of calls, then SECS measured.
# Prints per row the medians over the rounds of: req/s, client CPU per call (the client
# process's user+sys over the measured window), the ratio to the same round's curl-multi row
# (req/s, and CPU per call) and to its curl-multi-signed row (CPU per call), then garbage per
# call (collectgarbage("count") growth over 10,000 calls with the collector stopped), and what
# that is beyond the floor: cjson.decode of the same reply, the tables any Lua code holds it in.
# Usage: sh bench/http_bench.sh [rounds (3)] [seconds per row (1)]
#   env WARM (0.5 s; node gets at least 1 s), ROWS (space-separated row names to run),
#   BOTO_MODEL_DIR (a botocore service-2.json folder; default model/botocore)
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
rounds=${1:-3}
secs=${2:-1}
warm=${WARM:-0.5}
rows=${ROWS:-"curl-multi curl-multi-signed lua5.4 luajit lua5.4-notrim aws-js-v3 boto3 lua5.4-raw luajit-raw"}
tmp=$(mktemp -d)
chmod 700 "$tmp"
ng_pid=""
trap '[ -n "$ng_pid" ] && kill "$ng_pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
out=$tmp/rows

make --no-print-directory all >/dev/null || exit 1
mkdir -p build/bench
cc -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -o build/bench/http_curl bench/http_curl.c \
  $(pkg-config --libs libcurl 2>/dev/null || echo -lcurl) || exit 1
cc -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -o build/bench/http_raw bench/http_raw.c \
  $(pkg-config --libs libcurl 2>/dev/null || echo -lcurl) || exit 1

has_row() { case " $rows " in *" $1 "*) return 0 ;; esac; return 1; }

# peers
if has_row aws-js-v3 && [ ! -d bench/node_modules/@aws-sdk/client-gameliftstreams ]; then
  (cd bench && npm install --no-save --no-audit --no-fund --prefix . \
     @aws-sdk/client-gameliftstreams @smithy/signature-v4 @smithy/hash-node >/dev/null 2>&1) ||
    echo "npm install @aws-sdk/client-gameliftstreams failed" >&2
fi
if has_row aws-js-v3 && [ ! -d bench/node_modules/@aws-sdk/client-gameliftstreams ]; then
  echo "aws-js-v3: @aws-sdk/client-gameliftstreams not installed: skipped" >&2
  rows=$(echo "$rows" | sed 's/aws-js-v3//')
fi
if has_row boto3 && ! /usr/bin/python3 -c "import boto3" 2>/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-boto3 >/dev/null 2>&1 ||
    echo "apt-get install python3-boto3 failed" >&2
fi
boto_model=${BOTO_MODEL_DIR:-model/botocore}
if has_row boto3 && ! /usr/bin/python3 -c "import boto3" 2>/dev/null; then
  echo "boto3: python3-boto3 not installed: skipped" >&2
  rows=$(echo "$rows" | sed 's/boto3//')
elif has_row boto3 && [ ! -f "$boto_model/service-2.json" ]; then
  echo "boto3: no botocore model at $boto_model (Debian's boto3 predates GameLift Streams; set BOTO_MODEL_DIR): skipped" >&2
  rows=$(echo "$rows" | sed 's/boto3//')
fi

. bench/loopback_nginx.sh
url="http://127.0.0.1:$port"
path=/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567
# the *-sts rows' session token: 1,000 characters of the alphabet STS tokens use
sts_token=$(awk 'BEGIN { t = "IQoJb3JpZ2luX2VjEXAMPLE"; while (length(t) < 1000) t = t "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/"; print substr(t, 1, 1000) }')

# lua_run VARIANT INTERPRETER ARGS...
lua_run() {
  v=$1; shift
  LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$root/build/$v/?.so;;" "$@"
}

# run_row ROUND ROW INFLIGHT: appends "round row inflight calls wall cpu" to $out
run_row() {
  r=$1 row=$2 n=$3 line=""
  case $row in
    curl-multi) line=$(build/bench/http_curl "$url$path" "$n" "$secs" "$warm") ;;
    curl-multi-signed) line=$(HTTP_CURL_HEADERS=$(cat bench/signed_headers.txt) build/bench/http_curl "$url$path" "$n" "$secs" "$warm") ;;
    curl-multi-sts) line=$(HTTP_CURL_HEADERS=$(sed "s|^x-amz-security-token: .*|x-amz-security-token: $sts_token|" bench/signed_headers.txt) \
      build/bench/http_curl "$url$path" "$n" "$secs" "$warm") ;;
    curl-raw-signed) line=$(HTTP_CURL_HEADERS=$(cat bench/signed_headers.txt) build/bench/http_raw "$url$path" "$n" "$secs" "$warm") ;;
    lua5.4-sts) line=$(BENCH_SESSION_TOKEN=$sts_token lua_run 5.4 lua5.4 bench/http_bench.lua "$url" "$n" "$secs" "$warm") ;;
    luajit-sts) line=$(BENCH_SESSION_TOKEN=$sts_token lua_run jit luajit bench/http_bench.lua "$url" "$n" "$secs" "$warm") ;;
    lua5.4) line=$(lua_run 5.4 lua5.4 bench/http_bench.lua "$url" "$n" "$secs" "$warm") ;;
    luajit) line=$(lua_run jit luajit bench/http_bench.lua "$url" "$n" "$secs" "$warm") ;;
    lua5.4-notrim) line=$(lua_run 5.4 env MALLOC_TRIM_THRESHOLD_=67108864 lua5.4 bench/http_bench.lua "$url" "$n" "$secs" "$warm") ;;
    lua5.4-raw) line=$(lua_run 5.4 lua5.4 bench/http_bench.lua "$url" "$n" "$secs" "$warm" raw) ;;
    luajit-raw) line=$(lua_run jit luajit bench/http_bench.lua "$url" "$n" "$secs" "$warm" raw) ;;
    aws-js-v3)
      w=$(awk -v w="$warm" 'BEGIN { print (w < 1 ? 1 : w) }')
      line=$(cd bench && NODE_NO_WARNINGS=1 node http_bench.js "$url" "$n" "$secs" "$w") ;;
    boto3) line=$(/usr/bin/python3 bench/http_bench.py "$url" "$secs" "$warm" "$boto_model") ;;
  esac
  [ -n "$line" ] || { echo "round $r: $row at $n in flight failed" >&2; return; }
  echo "$r $row $n $line" | sed 's/calls=//; s/wall=//; s/cpu=//; s/ bytes=.*//' >> "$out"
}

# which rows run at which in-flight level
rows_at() {
  for row in $rows; do
    case $row in
      boto3|*-raw) [ "$1" = 1 ] && echo "$row" ;;
      *-notrim) [ "$1" != 1 ] && echo "$row" ;;
      *) echo "$row" ;;
    esac
  done
}

echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') on $url; $rounds rounds, $secs s per row after $warm s warm-up"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
r=0
while [ $r -lt "$rounds" ]; do
  r=$((r + 1))
  for n in 1 16 64; do
    list=$(rows_at $n)
    k=$(echo "$list" | wc -l)
    # rotate by the round number
    list=$(echo "$list" | awk -v s=$(( (r - 1) % k )) -v k="$k" '{ a[NR - 1] = $0 } END { for (i = 0; i < k; i++) print a[(i + s) % k] }')
    for row in $list; do run_row "$r" "$row" "$n"; done
  done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo

awk '
  { key = $2 " " $3; if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
    rps[$1, key] = $4 / $5; cpu[$1, key] = $6 / $4 * 1e6; rounds[$1] = 1 }
  function median(arr, m,   i, j, t) {
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return m % 2 ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2
  }
  END {
    printf "%-17s %3s %9s %11s %11s %9s %10s %10s\n", "client", "in", "req/s", "cpu us/call", "cpu range", "x ceiling",
      "cpu x ceil", "cpu x sign"
    for (i = 1; i <= nk; i++) {
      key = order[i]; split(key, kk, " "); ceil = "curl-multi " kk[2]
      # the signed ceiling sending the same headers: the -sts rows against curl-multi-sts
      sgn = (kk[1] ~ /-sts$/ ? "curl-multi-sts " : "curl-multi-signed ") kk[2]
      m = 0; split("", a); split("", c); split("", q); split("", qc); split("", qs); lo = 1e18; hi = 0; mq = 0; ms = 0
      for (r in rounds) if ((r, key) in rps) {
        m++; a[m] = rps[r, key]; c[m] = cpu[r, key]
        if (c[m] < lo) lo = c[m]; if (c[m] > hi) hi = c[m]
        if ((r, ceil) in rps) { mq++; q[mq] = rps[r, key] / rps[r, ceil]; qc[mq] = cpu[r, key] / cpu[r, ceil] }
        if ((r, sgn) in rps) { ms++; qs[ms] = cpu[r, key] / cpu[r, sgn] }
      }
      if (!m) continue
      printf "%-17s %3s %9.0f %11.1f %11s %9s %10s %10s\n", kk[1], kk[2], median(a, m), median(c, m),
        sprintf("%.0f-%.0f", lo, hi), mq ? sprintf("%.2f", median(q, mq)) : "-", mq ? sprintf("%.2f", median(qc, mq)) : "-",
        ms ? sprintf("%.2f", median(qs, ms)) : "-"
    }
  }' "$out"

# garbage per call (load-independent: count growth, not time)
for row in lua5.4 luajit; do
  has_row "$row" || continue
  v=5.4; [ "$row" = luajit ] && v=jit
  for n in 1 64; do
    g=$(lua_run $v "$row" bench/http_bench.lua "$url" "$n" 0 "$warm" garbage)
    echo "$g" | awk -v row="$row" -v n="$n" '{ sub("calls=", "", $1); sub("kb=", "", $2); sub("floor_kb=", "", $3)
      printf "garbage %-7s %2s in flight: %8.1f KB per 10,000 calls, %6.0f bytes per call, %5.0f beyond cjson.decode of the reply (%.0f)\n",
        row, n, $2 * 10000 / $1, $2 * 1024 / $1, ($2 - $3) * 1024 / $1, $3 * 1024 / $1 }'
  done
done
