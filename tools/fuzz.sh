#!/bin/sh
# `make fuzz`: fuzz the C signer (spec/c/fuzz_sigv4.c) with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer for FUZZ_SECONDS (default 120). The target links the signer twice:
# as built, and without its SSE2 code (GLS_NO_SIMD, public symbols renamed scalar_gls_*), and
# stops on any input where the two differ. The corpus stays in build/fuzz/corpus, so later runs
# start from it; an input that fails is written to build/fuzz/crash-*.
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${FUZZ_SECONDS:-120}
out=build/fuzz
corpus=$out/corpus
mkdir -p "$corpus"
crypto=$(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
cflags="-O1 -g -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Icsrc
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# the scalar signer with its codec and buffer, linked into one object whose gls_* are renamed
for f in sigv4 codec buf; do
  # shellcheck disable=SC2086
  clang $cflags -DGLS_NO_SIMD -c -o "$out/$f-scalar-part.o" "csrc/$f.c" || exit 1
done
ld -r -o "$out/sigv4-scalar.o" "$out/sigv4-scalar-part.o" "$out/codec-scalar-part.o" \
  "$out/buf-scalar-part.o" || exit 1
nm "$out/sigv4-scalar.o" | awk '$2 == "T" && $3 ~ /^gls_/ { print $3, "scalar_" $3 }' \
  > "$out/scalar.syms"
objcopy --redefine-syms="$out/scalar.syms" "$out/sigv4-scalar.o" || exit 1
# shellcheck disable=SC2086
clang $cflags -o "$out/fuzz_sigv4" spec/c/fuzz_sigv4.c csrc/sigv4.c csrc/codec.c csrc/buf.c \
  "$out/sigv4-scalar.o" $crypto || exit 1

# seeds: flag byte, URL, header pairs, body (see the layout in spec/c/fuzz_sigv4.c)
seed() { printf "$2" > "$corpus/seed-$1"; }
seed plain '\001https://gameliftstreams.us-west-2.api.aws/streamgroups/sg-1AB2C3De4/streamsessions\ncontent-type\napplication/json\n{"Protocol":"WebRTC"}'
seed arn '\001https://h.example/streamgroups/arn%%3Aaws%%3Agameliftstreams%%3Aus-west-2%%3A111122223333%%3Astreamgroup%%2Fsg-1/x?b=2&a=1&a=0'
seed dots '\021http://127.0.0.1:8000/a/./b/../../c//d/%%7E%%2f?x=%%20y+z\nX-Amz-Meta\n  two   spaces  \nx-amz-meta\nagain\nbody'
seed long '\001https://gameliftstreams.us-west-2.api.aws/streamgroups/abc/../streamsessions/./xyz/..'
seed presign '\032https://user@H.Example:443/p%%C3%%A9th?X-Amz-Signature=old&k\nhost\nother.example:8443\n'
seed odd '\000HTTPS://[::1]:8443/%%zz/%%/é?=&&a==b#frag\nAuthorization\nstale\nUser-Agent\nx\n'

echo "== fuzzing for ${secs}s"
"$out/fuzz_sigv4" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$out/" "$corpus" 2> "$out/fuzz.log"
rc=$?
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|differ in|ERROR|SUMMARY" "$out/fuzz.log"
if [ "$rc" != 0 ]; then
  echo "fuzz: FAILED (see $out/fuzz.log; the input that failed is $out/crash-*)"
  exit 1
fi
echo "fuzz: OK ($(ls "$corpus" | wc -l) inputs in the corpus)"
