# gameliftstreams: build the C core for Lua 5.4 and LuaJIT, test, demo.
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fPIC -fvisibility=hidden
# CURL_PREFIX=/path: build against the libcurl installed there (its headers, and its library
# found at run time through an rpath) instead of the system's; build/curl-prefix remembers the
# choice, so switching rebuilds everything (docs/INTERNALS.md, "Another libcurl").
CURL_PREFIX ?=
ifeq ($(strip $(CURL_PREFIX)),)
CURL_INC  :=
LIBS      := $(shell pkg-config --libs libcurl libcrypto 2>/dev/null || echo -lcurl -lcrypto)
else
CURL_INC  := -I$(CURL_PREFIX)/include
LIBS      := -L$(CURL_PREFIX)/lib -Wl,-rpath,$(CURL_PREFIX)/lib -lcurl \
             $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
endif
CURL_STAMP := build/curl-prefix
$(shell mkdir -p build; [ -f $(CURL_STAMP) ] && [ "$$(cat $(CURL_STAMP))" = "$(CURL_PREFIX)" ] || \
  printf '%s\n' "$(CURL_PREFIX)" > $(CURL_STAMP))
LUA54_INC := $(shell pkg-config --cflags lua5.4 2>/dev/null)
JIT_INC   := $(shell pkg-config --cflags luajit 2>/dev/null)
SAN_CC    := clang
SAN_BASE  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# the module is loaded by an uninstrumented lua5.4, so it uses the shared runtime (LD_PRELOADed)
SAN_FLAGS := $(SAN_BASE) -shared-libasan

SRC     := $(wildcard csrc/*.c)
HDR     := $(wildcard csrc/*.h)
PURE    := $(filter-out csrc/core.c csrc/util.c $(wildcard csrc/l*.c),$(SRC))
CTESTS  := $(patsubst spec/c/%.c,%,$(wildcard spec/c/test_*.c))

.PHONY: all deps test test-c test-lua test-jit test-asan demo emulator bench fuzz clean model rock docs

all: build/5.4/gameliftstreams/core.so build/jit/gameliftstreams/core.so

deps:
	@sh tools/deps.sh

build/5.4/gameliftstreams/core.so: $(SRC) $(HDR) $(CURL_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CURL_INC) $(LUA54_INC) -shared -o $@ $(SRC) $(LIBS)

build/jit/gameliftstreams/core.so: $(SRC) $(HDR) $(CURL_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CURL_INC) $(JIT_INC) -shared -o $@ $(SRC) $(LIBS)

build/asan/gameliftstreams/core.so: $(SRC) $(HDR) $(CURL_STAMP)
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_FLAGS) $(WARN) $(CURL_INC) $(LUA54_INC) -shared -o $@ $(SRC) $(LIBS)

build/ctest/%: spec/c/%.c $(PURE) $(HDR) spec/c/ctest.h $(CURL_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CURL_INC) -Icsrc -o $@ $< $(PURE) $(LIBS)

build/ctest-asan/%: spec/c/%.c $(PURE) $(HDR) spec/c/ctest.h $(CURL_STAMP)
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_BASE) $(WARN) $(CURL_INC) -Icsrc -o $@ $< $(PURE) $(LIBS)

# the signer and the JSON reader again without their SSE2 paths, so the portable code other
# CPUs run is tested too
build/ctest-scalar/%: spec/c/%.c $(PURE) $(HDR) spec/c/ctest.h $(CURL_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CURL_INC) -DGLS_NO_SIMD -Icsrc -o $@ $< $(PURE) $(LIBS)

ctests: $(addprefix build/ctest/,$(CTESTS)) $(addprefix build/ctest-asan/,$(CTESTS)) \
	build/ctest-scalar/test_sigv4 build/ctest-scalar/test_json

# make test: everything, one closing line "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all build/asan/gameliftstreams/core.so ctests
	@sh tools/run-tests.sh

model:
	@mkdir -p types
	lua5.4 tools/genmodel.lua model/botocore lua/gameliftstreams/model.lua types docs/OPERATIONS.md

emulator: deps all
	LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/5.4/?.so;;" lua5.4 bin/gameliftstreams-emulator

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

bench: deps all
	@sh bench/run.sh

# by hand, like bench: libFuzzer on the signer (SSE2 against scalar), the response headers, the
# paginator, the codecs and the JSON decoder, FUZZ_SECONDS (120) each
fuzz: deps
	@sh tools/fuzz.sh

clean:
	rm -rf build

# the reference (LDoc) in build/docs/: the public modules and docs/OPERATIONS.md
docs: deps
	@sh tools/docs.sh
