#!/bin/sh
# Where the time of a GetStreamSession call goes (by hand, like the benches; slow: valgrind).
# Against the loopback nginx of bench/http_bench.sh:
#   callgrind: instructions per call (user space; they do not depend on the machine's load) of
#     the curl-multi ceiling, the raw transport (blocking, and through sched.http in 64 tasks: the
#     scheduler's own cost) and whole calls, blocking and in 64 tasks, as the difference
#     between a run of N2 and one of N1 calls (so start-up cancels out); split by
#     shared object, and the functions that take the most (self cost, also differenced).
#   steps: instructions per call of each step of a call alone (bench/http_steps.lua), and what
#     the whole call spends beyond their sum (the pipeline's own tables, calls and garbage). Of
#     the two sign steps the sum counts sign_pipeline (how the pipeline signs an attempt); sign
#     (gls.sign as a user calls it) is shown beside it. The sum counts read (the transfer with
#     the body decoded where the transfer holds it, as a call's runs); decode and raw (the two
#     apart, as with a transport that hands a body string) are shown beside it.
#   garbage of each step (collectgarbage("count") growth with the collector stopped).
#   perf (PERF=1): perf record of the blocking call loops, split by shared object.
# Usage: sh bench/http_profile.sh [N1 (1000)] [N2 (3000)]   env ROWS (default all), TOP (25),
#   STEPS (default "lua5.4 luajit"; "" for none)
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
n1=${1:-1000}
n2=${2:-3000}
top=${TOP:-25}
rows=${ROWS-"curl-multi:1 curl-multi-signed:1 curl-multi:64 lua5.4-raw:1 luajit-raw:1 lua5.4-raw:64 luajit-raw:64 lua5.4:1 luajit:1 lua5.4:64 luajit:64"}
tmp=$(mktemp -d)
chmod 700 "$tmp"
ng_pid=""
trap '[ -n "$ng_pid" ] && kill "$ng_pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

make --no-print-directory all >/dev/null || exit 1
mkdir -p build/bench
cc -O2 -g -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -o build/bench/http_curl bench/http_curl.c \
  $(pkg-config --libs libcurl 2>/dev/null || echo -lcurl) || exit 1
. bench/loopback_nginx.sh
url="http://127.0.0.1:$port"
path=/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567

lua_run() {
  v=$1; shift
  LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$root/build/$v/?.so;;" "$@"
}

# curl-multi-signed: the ceiling with the header lines of a signed GetStreamSession call (the
# values' lengths as a call sends them), so what those headers cost libcurl shows on its own
signed_headers=$(cat bench/signed_headers.txt)

# run_fixed PREFIX ROW INFLIGHT CALLS: one fixed-count run, its command after PREFIX (a wrapper)
run_fixed() {
  pre=$1 row=$2 n=$3 calls=$4; shift 4
  case $row in
    curl-multi) $pre build/bench/http_curl "$url$path" "$n" 0 0 "$calls" ;;
    curl-multi-signed) HTTP_CURL_HEADERS=$signed_headers $pre build/bench/http_curl "$url$path" "$n" 0 0 "$calls" ;;
    lua5.4) lua_run 5.4 $pre lua5.4 bench/http_bench.lua "$url" "$n" 0 0 call "$calls" ;;
    luajit) lua_run jit $pre luajit bench/http_bench.lua "$url" "$n" 0 0 call "$calls" ;;
    lua5.4-raw) lua_run 5.4 $pre lua5.4 bench/http_bench.lua "$url" "$n" 0 0 raw "$calls" ;;
    luajit-raw) lua_run jit $pre luajit bench/http_bench.lua "$url" "$n" 0 0 raw "$calls" ;;
  esac
}

# self cost per function, one line "Ir function [object]" each
annotate() {
  callgrind_annotate --auto=no --threshold=100 --inclusive=no "$1" 2>/dev/null |
    awk '/PROGRAM TOTALS/ { v = $1; gsub(",", "", v); print v "\tTOTAL"; next }
         /^ *[0-9,]+ \( *[0-9.]+%\)  / { v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, ""); print v "\t" $0 }'
}

echo "callgrind: instructions per call = (Ir of $n2 calls - Ir of $n1 calls) / $((n2 - n1))"
for rn in $rows; do
  row=${rn%%:*} n=${rn#*:}
  for calls in $n1 $n2; do
    run_fixed "valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.$calls" "$row" "$n" "$calls" >/dev/null 2>"$tmp/vg.log" ||
      { echo "$row $n: failed"; cat "$tmp/vg.log"; continue 2; }
    annotate "$tmp/cg.$calls" > "$tmp/fn.$calls"
  done
  awk -F'\t' -v d=$((n2 - n1)) -v row="$row" -v n="$n" -v top="$top" '
    FNR == NR { a[$2] += $1; next }
    { b[$2] += $1 }
    END {
      tot = (b["TOTAL"] - a["TOTAL"]) / d
      for (k in b) { if (k == "TOTAL") continue; v = (b[k] - a[k]) / d; if (v < 0) v = 0; diff[k] = v
        o = k; if (match(o, /\[[^]]*\]$/)) o = substr(o, RSTART + 1, RLENGTH - 2); else o = "?"
        n_ = split(o, parts, "/"); o = parts[n_]; byobj[o] += v }
      # functions whose object callgrind does not name: under "?"
      printf "\n== %s, %s in flight: %.0f instructions per call\n", row, n, tot
      for (o in byobj) if (byobj[o] >= tot / 200) printf "  %-34s %8.0f  %5.1f%%\n", o, byobj[o], 100 * byobj[o] / tot | "sort -k2 -nr"
      close("sort -k2 -nr")
      print "  top functions (self):"
      for (k in diff) if (diff[k] >= 1) {
        f = k; sub(/^.*:/, "", f)                  # file:function [object] -> function [object]
        if (match(k, /\[[^]]*\]$/)) { o = substr(k, RSTART + 1, RLENGTH - 2); n_ = split(o, parts, "/"); f = f; sub(/ \[.*$/, "", f); f = f " [" parts[n_] "]" }
        printf "    %8.0f  %5.1f%%  %s\n", diff[k], 100 * diff[k] / tot, f | "sort -nr | head -" top
      }
      close("sort -nr | head -" top)
    }' "$tmp/fn.$n1" "$tmp/fn.$n2"
done

# total instructions of one run under callgrind
cg_total() {
  callgrind_annotate --auto=no "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { v = $1; gsub(",", "", v); print v }'
}
for lua in ${STEPS-lua5.4 luajit}; do
  v=5.4; [ "$lua" = luajit ] && v=jit
  echo
  echo "== steps of one GetStreamSession call, $lua: instructions per call"
  for step in validate build sign sign_pipeline uuid decode raw read call; do
    for calls in $n1 $n2; do
      lua_run $v valgrind --tool=callgrind --callgrind-out-file="$tmp/st.$calls" "$lua" bench/http_steps.lua "$url" "$step" "$calls" \
        >/dev/null 2>"$tmp/vg.log" || { echo "$step: failed"; cat "$tmp/vg.log"; }
    done
    echo "$step $(cg_total "$tmp/st.$n1") $(cg_total "$tmp/st.$n2")"
  done | awk -v d=$((n2 - n1)) '
    { v[$1] = ($3 - $2) / d; order[++k] = $1 }
    END {
      for (i = 1; i <= k; i++) { s = order[i]; aside = s == "sign" || s == "decode" || s == "raw"
        printf "  %-14s %8.0f%s\n", s, v[s], aside ? "   (not in the sum)" : ""
        if (s != "call" && !aside) sum += v[s] }
      printf "  %-14s %8.0f   (call - the sum of the steps above)\n", "rest", v["call"] - sum
    }'
done

for lua in ${STEPS-lua5.4 luajit}; do
  v=5.4; [ "$lua" = luajit ] && v=jit
  echo
  echo "== garbage of each step, $lua: bytes per call (collector stopped)"
  for step in validate build sign sign_pipeline uuid decode raw read call; do
    lua_run $v "$lua" bench/http_steps.lua "$url" "$step" 2000 garbage
  done | awk '{ aside = $1 == "sign" || $1 == "decode" || $1 == "raw"
      printf "  %-14s %8d%s\n", $1, $2, aside ? "   (not in the sum)" : ""
      if ($1 == "call") call = $2; else if (!aside) sum += $2 }
    END { printf "  %-14s %8d   (call - the sum of the steps above)\n", "rest", call - sum }'
done

if [ -n "$PERF" ]; then
  for row in curl-multi lua5.4-raw lua5.4 luajit; do
    case $row in
      curl-multi) perf record -q -o "$tmp/perf.data" -F 2000 -- build/bench/http_curl "$url$path" 1 3 0.2 >/dev/null 2>&1 ;;
      lua5.4-raw) lua_run 5.4 perf record -q -o "$tmp/perf.data" -F 2000 -- lua5.4 bench/http_bench.lua "$url" 1 3 0.2 raw >/dev/null 2>&1 ;;
      lua5.4) lua_run 5.4 perf record -q -o "$tmp/perf.data" -F 2000 -- lua5.4 bench/http_bench.lua "$url" 1 3 0.2 >/dev/null 2>&1 ;;
      luajit) lua_run jit perf record -q -o "$tmp/perf.data" -F 2000 -- luajit bench/http_bench.lua "$url" 1 3 0.2 >/dev/null 2>&1 ;;
    esac
    echo
    echo "== perf, $row, blocking: share of the client process's samples by shared object"
    perf report -i "$tmp/perf.data" --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
  done
fi
