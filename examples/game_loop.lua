#!/usr/bin/env lua5.4
--- A game server's main loop driving many stream sessions without ever blocking:
-- every SDK call runs in a task, and the loop calls gls.step() once per frame with
-- the time left in the frame's budget.
--
-- Players "join" over the first frames; each join starts a session and waits for it
-- in its own task. When every player is streaming, the loop terminates the sessions
-- (again in tasks) and cleans up.
--
-- Environment: as examples/quickstart.lua (GLS_ENDPOINT, AWS_REGION, credentials,
-- GLS_POLL_SECONDS), plus GLS_PLAYERS (default 20), and GLS_STREAM_GROUP /
-- GLS_APPLICATION to use existing resources instead of creating them.
local gls = require("gameliftstreams")
local sched = require("gameliftstreams.sched")

local function getenv(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

local client = assert(gls.new{
  region = getenv("AWS_REGION") or "us-west-2",
  endpoint = getenv("GLS_ENDPOINT"),
})
local poll = tonumber(getenv("GLS_POLL_SECONDS") or "")
local WAIT = { max_wait = 300 }
if poll then WAIT.min_delay, WAIT.max_delay = poll, poll * 4 end
local PLAYERS = tonumber(getenv("GLS_PLAYERS") or "") or 20
local FRAME = 1 / 60

-- Set-up, before the game starts (blocking calls are fine here).
local app_id, group_id = getenv("GLS_APPLICATION"), getenv("GLS_STREAM_GROUP")
local created = {}
if not group_id then
  local app = assert(client:create_application{ Description = "gls-game-loop",
    RuntimeEnvironment = { Type = "PROTON", Version = "20241007" }, ExecutablePath = "bin/game",
    ApplicationSourceUri = getenv("GLS_APP_SOURCE") or "s3://amzn-gls-quickstart/game/" })
  app_id = app.Id
  created.app = app.Id
  assert(client:wait("application_ready", { Identifier = app_id }, WAIT))
  local group = assert(client:create_stream_group{ Description = "gls-game-loop", StreamClass = "gen5n_high",
    DefaultApplicationIdentifier = app_id, LocationConfigurations = { { LocationName = "us-west-2" } } })
  group_id = group.Id
  created.group = group.Id
  assert(client:wait("stream_group_active", { Identifier = group_id }, WAIT))
end

-- Game state: one entry per player.
local players = {}
local function join(i)
  local p = { name = "player-" .. i, state = "joining" }
  players[#players + 1] = p
  p.task = gls.spawn(function()
    local s, err = client:start_session_and_wait({ Identifier = group_id, ApplicationIdentifier = app_id,
      Protocol = "WebRTC", UserId = p.name, SignalRequest = "offer of " .. p.name }, WAIT)
    if not s then p.state = "failed: " .. tostring(err); return end
    p.arn, p.state = s.Arn, "streaming"
  end)
end

local function count(state)
  local n = 0
  for _, p in ipairs(players) do if p.state == state then n = n + 1 end end
  return n
end

local frame, worst, phase = 0, 0, "joining"
local start = sched.now()
local last_report = -1
while true do
  local frame_start = sched.now()
  frame = frame + 1
  -- game logic: a player joins every 3 frames
  if #players < PLAYERS and frame % 3 == 0 then join(#players + 1) end
  if phase == "joining" and #players == PLAYERS and count("joining") == 0 then
    phase = "leaving"
    for _, p in ipairs(players) do
      if p.arn then
        gls.spawn(function()
          local _, err = client:terminate_stream_session{ Identifier = group_id, StreamSessionIdentifier = p.arn }
          p.state = err and ("terminate failed: " .. tostring(err)) or "left"
        end)
      end
    end
  end
  -- the SDK's share of the frame: whatever time is left in it
  local live, failed = gls.step(math.max(0, FRAME - (sched.now() - frame_start)))
  if failed then
    for _, t in ipairs(failed) do io.stderr:write("task failed: ", tostring(t.error), "\n") end
  end
  local took = sched.now() - frame_start
  if took > worst then worst = took end
  if took < FRAME then sched.sleep(FRAME - took) end -- stands in for the engine's vsync
  local second = math.floor(sched.now() - start)
  if second ~= last_report then
    last_report = second
    print(string.format("t=%2ds frame %5d  joining %3d  streaming %3d  left %3d  (worst frame %.1f ms)",
      second, frame, count("joining"), count("streaming"), count("left"), worst * 1000))
  end
  if phase == "leaving" and live == 0 then break end
end
print(string.format("done: %d players streamed and left in %d frames (%.1f s), worst frame %.1f ms",
  count("left"), frame, sched.now() - start, worst * 1000))

if created.group then
  assert(client:delete_stream_group{ Identifier = created.group })
  assert(client:wait("stream_group_deleted", { Identifier = created.group }, WAIT))
end
if created.app then
  assert(client:delete_application{ Identifier = created.app })
  assert(client:wait("application_deleted", { Identifier = created.app }, WAIT))
end
os.exit(count("left") == PLAYERS and 0 or 1)
