#!/bin/sh
# `make demo`: start the local emulator on a free port, run examples/quickstart.lua
# against it (Lua 5.4 build), stop the emulator, exit with the example's status.
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
tmp=$(mktemp -d)
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;"
export LUA_CPATH="$root/build/5.4/?.so;;"

# GLS_DEMO_DELAY_SCALE: how fast the emulator's resources change state (1 = the default pace).
scale=${GLS_DEMO_DELAY_SCALE:-0.2}
GLS_PARENT_PID=$$ lua5.4 bin/gameliftstreams-emulator --port 0 --delay-scale "$scale" \
  > "$tmp/emu.out" 2> "$tmp/emu.err" &
emu_pid=$!

port=""
i=0
while [ $i -lt 100 ]; do
  port=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$tmp/emu.out" 2>/dev/null)
  [ -n "$port" ] && break
  if ! kill -0 "$emu_pid" 2>/dev/null; then break; fi
  sleep 0.1
  i=$((i + 1))
done
if [ -z "$port" ]; then
  echo "demo: the emulator did not start:" >&2
  cat "$tmp/emu.err" >&2
  exit 1
fi
echo "demo: emulator on http://127.0.0.1:$port (delay scale $scale)"

env GLS_ENDPOINT="http://127.0.0.1:$port" \
  AWS_ACCESS_KEY_ID=AKIDEMULATOR AWS_SECRET_ACCESS_KEY=emulator-secret AWS_SESSION_TOKEN= \
  AWS_REGION=us-west-2 AWS_PROFILE= AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  GLS_POLL_SECONDS="${GLS_POLL_SECONDS:-0.2}" \
  lua5.4 examples/quickstart.lua
status=$?
[ $status -eq 0 ] && echo "demo: OK" || echo "demo: FAILED (exit $status)" >&2
exit $status
