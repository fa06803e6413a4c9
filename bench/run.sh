#!/bin/sh
# Runs every benchmark (bench/*_bench.sh). Benchmarks are run by hand, never by make test.
cd "$(dirname "$0")/.." || exit 1
for b in bench/*_bench.sh; do
  [ -f "$b" ] || continue
  echo "== $b"
  sh "$b" || echo "(benchmark $b failed)"
done
