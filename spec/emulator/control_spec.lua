-- The control API's ranges (emulator/control.lua, limits.lua).
local cjson = require("cjson")
local E = require("support.emulator")

local api, control, expect_error = E.api, E.control, E.expect_error
local emu, _, pool = E.per_file()

describe("control values out of range", function()
  local function raw_control(method, path, raw)
    local res = pool:request{ method = method, url = emu.url .. "/_emulator/" .. path,
      headers = { ["content-type"] = "application/json" }, body = raw, timeout = 5 }
    return res.status, res.body and cjson.decode(res.body)
  end

  it("are refused with 400 naming the field and its range, and change nothing", function()
    local cases = {
      { "clock", '{"offset":1e300}', "offset" }, { "clock", '{"offset":-1e10}', "offset" },
      { "clock", '{"offset":1e400}', "offset" }, { "advance", '{"seconds":1e300}', "seconds" },
      { "config", '{"delay_scale":1e300}', "delay_scale" }, { "config", '{"log_size":1e300}', "log_size" },
      { "config", '{"log_bytes":-1}', "log_bytes" }, { "config", '{"quotas":{"applications":1e300}}', "applications" },
      { "config", '{"auth":"no"}', "auth" }, { "faults", '{"kind":"throttle","count":1e300}', "count" },
      { "faults", '{"kind":"slow","seconds":1e300}', "seconds" },
      { "faults", '{"kind":"error","headers":{"x-a":"1\\r\\nx-b: 2"}}', "x%-a" },
      { "faults", '{"kind":"error","code":"A\\r\\nB"}', "code" },
    }
    for _, c in ipairs(cases) do
      local status, body = raw_control("POST", c[1], c[2])
      assert.are.equal(400, status, c[2])
      assert.matches(c[3], body.message, 1)
      if c[3] ~= "auth" and c[3] ~= "code" and not c[2]:find("headers") then
        assert.matches("between", body.message, 1, true)
      end
    end
    local status, body = raw_control("GET", "requests?limit=abc")
    assert.are.equal(400, status)
    assert.matches("limit", body.message)
    -- nothing changed: signed requests are answered as before
    assert.are.equal(200, api("GET", "/applications").status)
    local _, clock = control("GET", "clock")
    assert.are.equal(0, clock.offset)
    local _, cfg = control("GET", "config")
    assert.are.equal(0.01, cfg.delay_scale)
    assert.is_true(cfg.auth)
    local _, faults = control("GET", "faults")
    assert.are.equal(0, #faults.faults)
  end)

  it("still accept offsets of years either way", function()
    assert.are.equal(200, (control("POST", "clock", { offset = 3600 * 24 * 365 * 20 })))
    expect_error(api("GET", "/applications"), 403, "InvalidSignatureException")
    assert.are.equal(200, (control("POST", "clock", { offset = -3600 * 24 * 365 * 20 })))
    expect_error(api("GET", "/applications"), 403, "InvalidSignatureException")
  end)
end)
