#!/bin/sh
# Concurrency figures against the local emulator (run by hand or by `make bench`):
# sessions started and waited for one after the other vs in tasks, the length of
# gls.step(0.01) frames, and plain call throughput, blocking vs in tasks.
# Usage: sh bench/concurrency_bench.sh [lua5.4|luajit]
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
lua=${1:-lua5.4}
variant=5.4
[ "$lua" = "luajit" ] && variant=jit
tmp=$(mktemp -d)
emu_pid=""
trap '[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$root/build/5.4/?.so;;" GLS_PARENT_PID=$$ \
  lua5.4 bin/gameliftstreams-emulator --port 0 --delay-scale 0.05 --log-size 0 > "$tmp/emu.out" 2>/dev/null &
emu_pid=$!
port=""
i=0
while [ $i -lt 100 ] && [ -z "$port" ]; do
  sleep 0.1
  port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$tmp/emu.out")
  i=$((i + 1))
done
[ -n "$port" ] || { echo "emulator did not start" >&2; exit 1; }

cat > "$tmp/bench.lua" <<'EOF'
local gls = require("gameliftstreams")
local sched = require("gameliftstreams.sched")
local url = arg[1]
local client = assert(gls.new{ region = "us-west-2", endpoint = url,
  credentials = { access_key_id = "AKIDEMULATOR", secret_access_key = "emulator-secret" } })
local core = require("gameliftstreams.core")
local function control(path, body)
  local p = sched.pool()
  local res = p:request{ method = "POST", url = url .. "/_emulator/" .. path,
    headers = { ["content-type"] = "application/json" }, body = require("cjson").encode(body), timeout = 10 }
  assert(res.status == 200, res.body)
end
local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }
local app = assert(client:create_application{ Description = "bench", ExecutablePath = "bin/game",
  RuntimeEnvironment = { Type = "PROTON", Version = "20241007" }, ApplicationSourceUri = "s3://bench/game/" })
assert(client:wait("application_ready", { Identifier = app.Id }, FAST))
local group = assert(client:create_stream_group{ Description = "bench", StreamClass = "gen5n_high",
  DefaultApplicationIdentifier = app.Id, LocationConfigurations = { { LocationName = "us-west-2" } } })
assert(client:wait("stream_group_active", { Identifier = group.Id }, FAST))
control("config", { delay_scale = 0.5 }) -- sessions: 0.5 s ACTIVATING -> ACTIVE

local WAIT = { min_delay = 0.1, max_delay = 0.1, max_wait = 120 }
local function start_one(i)
  local s = assert(client:start_session_and_wait({ Identifier = group.Id, ApplicationIdentifier = app.Id,
    Protocol = "WebRTC", SignalRequest = "offer", UserId = "u" .. i }, WAIT))
  return s
end

print(string.format("%s, emulator session activation 0.5 s, waiter poll 0.1 s", _VERSION ..
  (jit and (" / " .. jit.version) or "")))
print("")
print("| sessions started and waited for | how | wall time (s) | per session (s) |")
print("|---|---|---|---|")
local t0 = core.monotime()
for i = 1, 5 do start_one(i) end
local seq = core.monotime() - t0
print(string.format("| 5 | one after the other (blocking) | %.2f | %.3f |", seq, seq / 5))
for _, n in ipairs({ 1, 10, 50, 100 }) do
  t0 = core.monotime()
  for i = 1, n do gls.spawn(start_one, i) end
  assert(gls.run())
  local dt = core.monotime() - t0
  print(string.format("| %d | %d tasks, gls.run() | %.2f | %.3f |", n, n, dt, dt / n))
end

-- frames of a game loop while 50 sessions start
print("")
local frames = {}
for i = 1, 50 do gls.spawn(start_one, i) end
repeat
  local f0 = core.monotime()
  local live = gls.step(0.01)
  frames[#frames + 1] = core.monotime() - f0
until live == 0
table.sort(frames)
local sum = 0
for _, f in ipairs(frames) do sum = sum + f end
print(string.format("gls.step(0.01) while 50 sessions start: %d frames, mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
  #frames, sum / #frames * 1000, frames[math.floor(#frames * 0.5)] * 1000,
  frames[math.max(1, math.floor(#frames * 0.99))] * 1000, frames[#frames] * 1000))

-- plain calls: GetStreamGroup
print("")
print("| GetStreamGroup calls | how | wall time (s) | calls/s |")
print("|---|---|---|---|")
local N = 1000
t0 = core.monotime()
for _ = 1, N do assert(client:get_stream_group{ Identifier = group.Id }) end
local dt = core.monotime() - t0
print(string.format("| %d | blocking, one after the other | %.2f | %.0f |", N, dt, N / dt))
for _, conc in ipairs({ 10, 50 }) do
  t0 = core.monotime()
  for _ = 1, conc do
    gls.spawn(function() for _ = 1, N / conc do assert(client:get_stream_group{ Identifier = group.Id }) end end)
  end
  assert(gls.run())
  dt = core.monotime() - t0
  print(string.format("| %d | %d tasks | %.2f | %.0f |", N, conc, dt, N / dt))
end
EOF

LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$root/build/$variant/?.so;;" \
  "$lua" "$tmp/bench.lua" "http://127.0.0.1:$port"
