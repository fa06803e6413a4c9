-- credential_process (credentials/process.lua), called plainly and inside tasks.
local credentials = require("gameliftstreams.credentials")
local helpers = require("helpers")
local C = require("support.credentials")

local env, refute_secret = C.env, C.refute_secret
local shell_script = helpers.shell_script

describe("credential_process", function()
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function with_process(script, extra)
    local c = helpers.write_file(dir .. "/config",
      "[default]\ncredential_process = " .. script .. (extra or "") .. "\n")
    return { getenv = env{ AWS_CONFIG_FILE = c } }
  end

  it("runs the command and reads its JSON", function()
    local s = shell_script(dir, "ok.sh", [[
echo run >> "$(dirname "$0")/count"
printf '%s' '{"Version": 1, "AccessKeyId": "AKPROC", "SecretAccessKey": "proc-secret",
  "SessionToken": "proc-token", "Expiration": "2099-01-01T00:00:00Z"}'
]])
    local p = credentials.from_config(with_process(s))
    local c = assert(p:get())
    assert.same({ "AKPROC", "proc-secret", "proc-token" }, { c.access_key_id, c.secret_access_key, c.session_token })
    assert.equal(4070908800, c.expiration)
    assert(p:get())
    assert.equal("run\n", helpers.read_file(dir .. "/count"))
  end)

  it("passes arguments through the shell", function()
    local s = shell_script(dir, "args.sh", [[
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"x"}' "$1"
]])
    local c = assert(credentials.from_config(with_process(s, " AKARG")):get())
    assert.equal("AKARG", c.access_key_id)
  end)

  it("reports a non-zero exit without echoing the output", function()
    local s = shell_script(dir, "fail.sh", "echo '{\"SecretAccessKey\":\"leaked-secret\"}'\nexit 1\n")
    local c, err = credentials.from_config(with_process(s)):get()
    assert.is_nil(c)
    assert.equal("CredentialsError", err.code)
    assert.equal("credentials: process provider: command exited with status 1", err.message)
    refute_secret(err, "leaked-secret")
  end)

  it("reports output that is not JSON", function()
    local s = shell_script(dir, "bad.sh", "echo 'AccessKeyId=AK SecretAccessKey=plain-secret'\n")
    local _, err = credentials.from_config(with_process(s)):get()
    assert.matches("process provider: command output is not a JSON object", err.message)
    refute_secret(err, "plain-secret")
  end)

  it("refuses a Version other than 1 and missing keys", function()
    local s = shell_script(dir, "v2.sh", "echo '{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"v2-secret\"}'\n")
    local _, err = credentials.from_config(with_process(s)):get()
    assert.matches("unsupported Version 2", err.message)
    refute_secret(err, "v2-secret")
    s = shell_script(dir, "nokey.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A\"}'\n")
    _, err = credentials.from_config(with_process(s)):get()
    assert.matches("lacks AccessKeyId or SecretAccessKey", err.message)
  end)

  it("refuses credentials that have already expired, as botocore and the JS SDK v3 do", function()
    local s = shell_script(dir, "old.sh", [[
echo run >> "$(dirname "$0")/count"
printf '%s' '{"Version": 1, "AccessKeyId": "AKOLD", "SecretAccessKey": "old-secret",
  "SessionToken": "old-token", "Expiration": "2001-01-01T00:00:00Z"}'
]])
    local p = credentials.from_config(with_process(s))
    for i = 1, 2 do
      local c, err = p:get()
      assert.is_nil(c)
      assert.equal("CredentialsError", err.code)
      assert.equal("credentials: process provider: command returned credentials that expired at "
        .. "2001-01-01T00:00:00Z", err.message)
      refute_secret(err, "old-secret", "old-token")
      assert.equal(string.rep("run\n", i), helpers.read_file(dir .. "/count"))
    end
  end)

  it("names an expiry with a fraction of a second that rounds up as the next second", function()
    local s = shell_script(dir, "frac.sh", [[
printf '%s' '{"Version": 1, "AccessKeyId": "AKOLD", "SecretAccessKey": "old-secret",
  "Expiration": "2001-01-01T00:00:59.9996Z"}'
]])
    local _, err = credentials.from_config(with_process(s)):get()
    assert.equal("credentials: process provider: command returned credentials that expired at "
      .. "2001-01-01T00:01:00Z", err.message)
  end)

  it("never quotes a Version that is not a number (it is the command's output)", function()
    local s = shell_script(dir, "vs.sh", "echo '{\"Version\":\"version-secret\",\"AccessKeyId\":\"A\"}'\n")
    local _, err = credentials.from_config(with_process(s)):get()
    assert.equal("credentials: process provider: unsupported Version (a string) (expected 1)", err.message)
    refute_secret(err, "version-secret")
  end)

  it("stops reading a command that prints more than a credentials file may hold", function()
    -- 17 MiB, then a document: read whole, it would be taken; `yes` would be read without end
    local s = shell_script(dir, "big.sh", "head -c 17825792 /dev/zero | tr '\\0' ' '\n"
      .. "printf '{\"Version\":1,\"AccessKeyId\":\"AKBIG\",\"SecretAccessKey\":\"x\"}'\n")
    local c, err = credentials.from_config(with_process(s)):get()
    assert.is_nil(c)
    assert.equal("credentials: process provider: its output is larger than 16777216 bytes", err.message)
  end)

  it("refreshes credentials that are about to expire (injected clock)", function()
    local s = shell_script(dir, "exp.sh", [[
echo run >> "$(dirname "$0")/count"
n=$(wc -l < "$(dirname "$0")/count" | tr -d ' ')
printf '{"Version":1,"AccessKeyId":"AK%s","SecretAccessKey":"x","Expiration":"2030-01-01T01:00:00Z"}' "$n"
]])
    local now = credentials.parse_time("2030-01-01T00:00:00Z")
    local opts = with_process(s)
    opts.clock = function() return now end
    local p = credentials.from_config(opts)
    assert.equal("AK1", p:get().access_key_id)
    now = now + 3600 - 301
    assert.equal("AK1", p:get().access_key_id)
    now = now + 2 -- inside the 5-minute window
    assert.equal("AK2", p:get().access_key_id)
  end)
end)

describe("credential_process inside tasks", function()
  local sched = require("gameliftstreams.sched")
  local dir
  before_each(function() dir = helpers.tmpdir() end)
  after_each(function() helpers.rm_rf(dir) end)

  local function provider(script)
    local c = helpers.write_file(dir .. "/config", "[default]\ncredential_process = " .. script .. "\n")
    return credentials.from_config{ getenv = env{ AWS_CONFIG_FILE = c } }
  end

  it("reads the command's output without blocking the other tasks", function()
    local s = shell_script(dir, "slow.sh", [[
sleep 0.4
printf '{"Version":1,"AccessKeyId":"AKSLOW","SecretAccessKey":"x"}'
]])
    local p = provider(s)
    local got, ticks, max_gap = nil, 0, 0
    local fetching = true
    sched.spawn(function()
      local c, err = p:get()
      got = c and c.access_key_id or tostring(err)
      fetching = false
    end)
    sched.spawn(function()
      local last = sched.now()
      while fetching do
        sched.sleep(0.02)
        local t = sched.now()
        max_gap = math.max(max_gap, t - last)
        last = t
        ticks = ticks + 1
      end
    end)
    assert.is_true(sched.run())
    assert.equal("AKSLOW", got)
    assert.is_true(ticks >= 8, "the other task ran " .. ticks .. " times")
    assert.is_true(max_gap < 0.2, "the other task was held for " .. max_gap .. " s") -- blocking: 0.4 s
  end)

  it("reports an exit status and bad output as outside tasks", function()
    local s = shell_script(dir, "fail.sh", "echo '{\"SecretAccessKey\":\"task-secret\"}'\nexit 4\n")
    local task = sched.spawn(function() return provider(s):get() end)
    assert.is_true(sched.run())
    local err = task.results[2]
    assert.equal("credentials: process provider: command exited with status 4", err.message)
    refute_secret(err, "task-secret")
  end)

  it("stops a command that prints without end, inside a task too", function()
    local pidfile = dir .. "/pid"
    local s = shell_script(dir, "yes.sh", "echo $$ > " .. pidfile .. "\nexec yes\n")
    local task = sched.spawn(function() return provider(s):get() end)
    assert.is_true(sched.run())
    assert.equal("credentials: process provider: its output is larger than 16777216 bytes", task.results[2].message)
    local pid = assert(tonumber(helpers.read_file(pidfile)))
    local gone = os.execute("! kill -0 " .. pid .. " 2>/dev/null || grep -q '^State:.*Z' /proc/" .. pid .. "/status")
    assert.is_true(gone == true or gone == 0, "the command's process " .. pid .. " still runs")
  end)

  it("stops the command (and what it started) when the task is cancelled", function()
    local pidfile = dir .. "/pid"
    local s = shell_script(dir, "hang.sh", "echo $$ > " .. pidfile .. "\nsleep 30\n")
    local task = sched.spawn(function() return provider(s):get() end)
    local t0 = sched.now()
    -- until the pid is written, not only the file made (the shell truncates it, then writes)
    while not tonumber(helpers.read_file(pidfile) or "") and sched.now() - t0 < 5 do sched.step(0.02) end
    local pid = assert(tonumber(helpers.read_file(pidfile)), "the command did not start")
    task:cancel()
    assert.is_true(sched.run())
    assert.equal("Cancelled", task.results[2].code)
    local alive = true
    t0 = sched.now()
    while alive and sched.now() - t0 < 2 do
      alive = os.execute("kill -0 " .. pid .. " 2>/dev/null && ! grep -q '^State:.*Z' /proc/" .. pid .. "/status")
      alive = alive == true or alive == 0
      if alive then sched.sleep(0.05) end
    end
    assert.is_false(alive, "the command's process " .. pid .. " still runs")
  end)
end)
