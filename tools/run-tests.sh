#!/bin/sh
# Runs every test suite and ends with one line: "N passed, N failed".
# Suites: C unit tests (plain and sanitized), busted under lua5.4, under luajit,
# and under lua5.4 with the AddressSanitizer/UBSan build of the C module.
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total_pass=0
total_fail=0

add() { # add "passed failed" from file $1, or count the suite as one failure
  if [ -s "$1" ]; then
    set -- $(cat "$1")
    total_pass=$((total_pass + $1)); total_fail=$((total_fail + $2))
  else
    total_fail=$((total_fail + 1))
  fi
}

tally() { # the "N passed, N failed" line of a C test run ($tmp/out) as "N N" in $tmp/c
  tail -n 1 "$tmp/out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' > "$tmp/c"
}

# which libcurl the suites load (make test CURL_PREFIX=..., or LD_LIBRARY_PATH: docs/INTERNALS.md)
curl_so=$(ldd build/5.4/gameliftstreams/core.so 2>/dev/null | sed -n 's/.*libcurl[^ ]* => \([^ ]*\).*/\1/p')
prefix=$(cat build/curl-prefix 2>/dev/null)
echo "== libcurl: ${curl_so:-not found} (built with the headers of ${prefix:-the system}${LD_LIBRARY_PATH:+; LD_LIBRARY_PATH=$LD_LIBRARY_PATH})"

asan_rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for t in build/ctest/test_*; do
  [ -x "$t" ] || continue
  echo "== C unit: $t"
  "$t" > "$tmp/out" 2>&1; cat "$tmp/out"
  tally; add "$tmp/c"
  s="build/ctest-asan/${t##*/}"
  echo "== C unit (ASan+UBSan): $s"
  ASAN_OPTIONS=detect_leaks=1 "$s" > "$tmp/out" 2>&1; rc=$?; cat "$tmp/out"
  tally
  [ $rc -eq 0 ] || : > "$tmp/c"
  add "$tmp/c"
  if command -v valgrind >/dev/null 2>&1; then
    echo "== C unit (valgrind): $t"
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      "$t" > "$tmp/out" 2>&1; rc=$?; cat "$tmp/out"
    tally
    [ $rc -eq 0 ] || : > "$tmp/c"
    add "$tmp/c"
  fi
done

for t in build/ctest-scalar/test_*; do
  [ -x "$t" ] || continue
  echo "== C unit (no SIMD): $t"
  "$t" > "$tmp/out" 2>&1; cat "$tmp/out"
  tally; add "$tmp/c"
done

run_busted() { # label, busted run name, extra env
  label=$1; shift
  echo "== busted: $label"
  env GLS_COUNT_FILE="$tmp/b" "$@" -o tools/busted_count.lua
  add "$tmp/b"; rm -f "$tmp/b"
}

run_busted "lua5.4" busted --run=default
# the spec hook recorder (spec/support/record_hooks.lua) in the first run only: the other two
# run every client without hooks, as users' clients run
run_busted "luajit" env GLS_SPEC_HOOKS=0 busted --run=jit
if [ -n "$asan_rt" ] && [ -f "$asan_rt" ]; then
  run_busted "lua5.4 + ASan/UBSan" env LD_PRELOAD="$asan_rt" ASAN_OPTIONS=detect_leaks=0 \
    GLS_SANITIZED=1 GLS_SPEC_HOOKS=0 busted --run=default --cpath="build/asan/?.so"
else
  echo "no clang ASan runtime: sanitizer suite not run"; total_fail=$((total_fail + 1))
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
