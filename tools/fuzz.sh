#!/bin/sh
# `make fuzz`: libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer, FUZZ_SECONDS
# (default 120) for each target in turn (FUZZ_TARGETS, default all six):
#   sigv4      the C signer (spec/c/fuzz_sigv4.c), linked twice: as built, and without its SSE2
#              code (GLS_NO_SIMD, public symbols renamed scalar_gls_*); stops where they differ
#   headers    the response side of the pool: header collection and the Lua join of repeats
#              (spec/c/fuzz_headers.c: csrc/http.c and csrc/lhttp.c with Lua 5.4; lhttp.c decodes
#              a 2xx body with ljson.c's reader, so the decoder's files are linked too)
#   h1         the HTTP/1.1 response reader of direct transfers (spec/c/fuzz_h1.c: csrc/h1.c),
#              the same bytes whole and in pieces must give the same outcome
#   paginator  the resume-token decoder and feed (spec/c/fuzz_paginator.c)
#   codec      base64, hex and JSON quoting against slow reference versions (spec/c/fuzz_codec.c)
#   json       the JSON reader against a reference validator, its strings, numbers and dates, and
#              the Lua decoder of a made-up model with every shape type (spec/c/fuzz_json.c:
#              csrc/json.c and csrc/ljson.c with Lua 5.4)
# Each corpus stays in build/fuzz/<target>/corpus, so later runs start from it; an input that
# fails is written to build/fuzz/<target>/crash-*. The executed-unit count of each is printed.
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${FUZZ_SECONDS:-120}
targets=${FUZZ_TARGETS:-sigv4 headers h1 paginator codec json}
out=build/fuzz
mkdir -p "$out"
# the signer's corpus predates the other targets: it keeps its place
if [ -d "$out/corpus" ] && [ ! -d "$out/sigv4/corpus" ]; then
  mkdir -p "$out/sigv4" && mv "$out/corpus" "$out/sigv4/corpus"
fi
mkdir -p "$out/sigv4/corpus" "$out/headers/corpus" "$out/h1/corpus" "$out/paginator/corpus" "$out/codec/corpus" \
  "$out/json/corpus"
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
# shellcheck disable=SC2086
clang $cflags $(pkg-config --cflags lua5.4) -o "$out/fuzz_headers" spec/c/fuzz_headers.c \
  csrc/h1.c csrc/ljson.c csrc/json.c csrc/util.c csrc/rand.c csrc/sigv4.c csrc/codec.c csrc/buf.c \
  $(pkg-config --libs lua5.4 libcurl) $crypto || exit 1
# shellcheck disable=SC2086
clang $cflags -o "$out/fuzz_h1" spec/c/fuzz_h1.c csrc/h1.c || exit 1
# shellcheck disable=SC2086
clang $cflags -o "$out/fuzz_paginator" spec/c/fuzz_paginator.c csrc/paginator.c csrc/json.c \
  csrc/codec.c csrc/buf.c $crypto || exit 1
# shellcheck disable=SC2086
clang $cflags -o "$out/fuzz_codec" spec/c/fuzz_codec.c csrc/codec.c csrc/buf.c $crypto || exit 1
# shellcheck disable=SC2086
clang $cflags $(pkg-config --cflags lua5.4) -o "$out/fuzz_json" spec/c/fuzz_json.c csrc/json.c \
  csrc/ljson.c csrc/util.c csrc/rand.c csrc/sigv4.c csrc/codec.c csrc/buf.c $(pkg-config --libs lua5.4) \
  $crypto || exit 1

# seeds, in the layout each target's header comment gives
seed() { printf "$3" > "$out/$1/corpus/seed-$2"; }
seed sigv4 plain '\001https://gameliftstreams.us-west-2.api.aws/streamgroups/sg-1AB2C3De4/streamsessions\ncontent-type\napplication/json\n{"Protocol":"WebRTC"}'
seed sigv4 arn '\001https://h.example/streamgroups/arn%%3Aaws%%3Agameliftstreams%%3Aus-west-2%%3A111122223333%%3Astreamgroup%%2Fsg-1/x?b=2&a=1&a=0'
seed sigv4 dots '\021http://127.0.0.1:8000/a/./b/../../c//d/%%7E%%2f?x=%%20y+z\nX-Amz-Meta\n  two   spaces  \nx-amz-meta\nagain\nbody'
seed sigv4 long '\001https://gameliftstreams.us-west-2.api.aws/streamgroups/abc/../streamsessions/./xyz/..'
seed sigv4 presign '\032https://user@H.Example:443/p%%C3%%A9th?X-Amz-Signature=old&k\nhost\nother.example:8443\n'
seed sigv4 odd '\000HTTPS://[::1]:8443/%%zz/%%/é?=&&a==b#frag\nAuthorization\nstale\nUser-Agent\nx\n'
seed headers plain '\020HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: r-1\r\n\r\n'
seed headers repeats '\001HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie:b=2\r\nX-Fold: one\r\n  two\r\n\tthree\r\nX-E:\r\n\r\n'
seed h1 plain '\010\003HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloHTTP/1.1 200'
seed h1 chunked '\010\001HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n'
seed h1 close '\016\007HTTP/1.0 204 X\nConnection: close\n X-Fold\n\nbody'
seed paginator walk '\005eyJOZXh0VG9rZW4iOiAiVCIsICJib3RvX3RydW5jYXRlX2Ftb3VudCI6IDJ9\n\003tok-1\n\004tok-2\n\002'
seed paginator raw '\000plain-token==\n\012a\n\012a'
seed codec b64 'Zm9vYmE='
seed codec json 'a"\\\001\177\n\303\251'
cp bench/http_reply.json "$out/json/corpus/seed-reply"
seed json types '{"S":"a\\u00e9\\ud83d\\ude00","E":"X","B":true,"I":-7,"L":9223372036854775807,"D":1.5e-3,"F":-0.0,"Ts":"2024-02-29T23:59:60.5+01:00","M":{"k":["v",null]},"N":[{"sub":{"I":7.0}},null],"X":[{}],"Any":{"a":[1,"2"]}}'
seed json bad '{"I":2.5,"I":3,"M":{"a b":[1]},"N":[[]],"Ts":"1.7E9","D":1e999}'
seed json date '2000-02-29T00:00:00.123456789012345678901234567890-12:59'

status=0
for t in $targets; do
  echo "== fuzzing $t for ${secs}s"
  "$out/fuzz_$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$out/$t/" "$out/$t/corpus" 2> "$out/$t/fuzz.log"
  rc=$?
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)|differ in|ERROR|SUMMARY" "$out/$t/fuzz.log"
  if [ "$rc" != 0 ]; then
    echo "fuzz $t: FAILED (see $out/$t/fuzz.log; the input that failed is $out/$t/crash-*)"
    status=1
  else
    echo "fuzz $t: OK ($(ls "$out/$t/corpus" | wc -l) inputs in the corpus)"
  fi
done
exit "$status"
