#!/usr/bin/env lua5.4
--- Quickstart: the whole life of a stream, start to finish.
--
-- Creates an application and waits until it is READY, creates a stream group and
-- waits until it is ACTIVE, starts a stream session and waits until it is ACTIVE,
-- lists the group's sessions with the items iterator, terminates the session, then
-- cleans up (stream group, application) and waits until both are deleted.
--
-- Environment:
--   GLS_ENDPOINT        endpoint URL (else AWS_ENDPOINT_URL_GAMELIFTSTREAMS / AWS_ENDPOINT_URL,
--                       else the real service of the region)
--   AWS_REGION          region (default us-west-2)
--   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE ...  the usual credential chain
--   GLS_POLL_SECONDS    waiter poll delay (default: the model's, e.g. 30 s for stream groups);
--                       `make demo` sets it low, the emulator being fast
--   GLS_APP_SOURCE      ApplicationSourceUri (default s3://amzn-gls-quickstart/game/)
--
-- Run against the local emulator: `make demo`.
local gls = require("gameliftstreams")

local function getenv(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

local t0 = os.time()
local function say(fmt, ...)
  io.stdout:write(string.format("[%3ds] ", os.time() - t0), string.format(fmt, ...), "\n")
  io.stdout:flush()
end

local client = assert(gls.new{
  region = getenv("AWS_REGION") or getenv("AWS_DEFAULT_REGION") or "us-west-2",
  endpoint = getenv("GLS_ENDPOINT"),
})

local poll = tonumber(getenv("GLS_POLL_SECONDS") or "")
local function wait_opts(max_wait)
  local o = { max_wait = max_wait }
  if poll then o.min_delay, o.max_delay = poll, poll * 4 end
  return o
end

local failed = false
local app_id, group_id, session_arn

-- Stops with a message and a non-zero status once clean-up has run.
local function check(what, v, err)
  if v then return v end
  say("FAILED to %s: %s", what, tostring(err))
  failed = true
  error(err, 0)
end

local function main()
  say("creating an application")
  local app = check("create the application", client:create_application{
    Description = "gls-quickstart",
    RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
    ExecutablePath = "bin/game",
    ApplicationSourceUri = getenv("GLS_APP_SOURCE") or "s3://amzn-gls-quickstart/game/",
  })
  app_id = app.Id
  say("application %s is %s; waiting for READY", app.Id, app.Status)
  app = check("wait for the application", client:wait("application_ready", { Identifier = app_id }, wait_opts(600)))
  say("application %s is %s", app.Id, app.Status)

  say("creating a stream group")
  local group = check("create the stream group", client:create_stream_group{
    Description = "gls-quickstart",
    StreamClass = "gen5n_high",
    DefaultApplicationIdentifier = app_id,
    LocationConfigurations = { { LocationName = "us-west-2", AlwaysOnCapacity = 1, MaximumCapacity = 2 } },
  })
  group_id = group.Id
  say("stream group %s is %s; waiting for ACTIVE", group.Id, group.Status)
  group = check("wait for the stream group", client:wait("stream_group_active", { Identifier = group_id }, wait_opts(1800)))
  say("stream group %s is %s", group.Id, group.Status)

  say("starting a stream session and waiting for ACTIVE")
  local session = check("start the stream session", client:start_session_and_wait({
    Identifier = group_id, ApplicationIdentifier = app_id, Protocol = "WebRTC",
    UserId = "quickstart-player", SignalRequest = "v=0 (a WebRTC offer from the player's browser)",
  }, wait_opts(300)))
  session_arn = session.Arn
  say("session %s is %s (signal response: %d bytes)", session.Arn:match("[^/]+$"), session.Status,
      #(session.SignalResponse or ""))

  say("sessions of the stream group:")
  local n = 0
  for s in client:items("list_stream_sessions", { Identifier = group_id }, { page_size = 10 }) do
    n = n + 1
    say("  %-16s %-10s user %s", s.Arn:match("[^/]+$"), s.Status, tostring(s.UserId))
  end
  say("%d session(s)", n)
end

local function cleanup()
  -- a start whose answer was lost leaves a clean-up job: a plain script finishes it here
  if not client:drain_cleanups(120) then
    say("a stream session clean-up is still pending"); failed = true
  end
  if session_arn then
    say("terminating the session")
    local _, err = client:terminate_stream_session{ Identifier = group_id, StreamSessionIdentifier = session_arn }
    if err then say("could not terminate the session: %s", tostring(err)); failed = true end
  end
  if group_id then
    say("deleting the stream group")
    local _, err = client:delete_stream_group{ Identifier = group_id }
    if not err then
      _, err = client:wait("stream_group_deleted", { Identifier = group_id }, wait_opts(1800))
    end
    if err then say("could not delete the stream group: %s", tostring(err)); failed = true
    else say("stream group deleted") end
  end
  if app_id then
    say("deleting the application")
    local _, err = client:delete_application{ Identifier = app_id }
    if not err then
      _, err = client:wait("application_deleted", { Identifier = app_id }, wait_opts(600))
    end
    if err then say("could not delete the application: %s", tostring(err)); failed = true
    else say("application deleted") end
  end
end

local ok, err = pcall(main)
if not ok and not failed then
  say("FAILED: %s", tostring(err))
  failed = true
end
cleanup()
say(failed and "quickstart failed" or "quickstart done")
os.exit(failed and 1 or 0)
