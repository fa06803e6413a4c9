-- Runs last (busted sorts the spec files): everything the hooks of every client the suite made
-- received (spec/support/record_hooks.lua wrote it down) holds none of the secrets the specs
-- handed the SDK, nor one the stand-ins issued, nor a signature.
local helpers = require("helpers")

local FIXED = { "emulator-secret", "standin-secret-", "standin-token-", "standin-sso-token",
                "standin-refresh", "standin-imds-token", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

describe("what the hooks saw across the whole suite", function()
  local record = package.loaded["spec_hook_recorder"]
  if os.getenv("GLS_SPEC_HOOKS") == "0" then
    pending("the hook recorder is off in this run (GLS_SPEC_HOOKS=0): the hook-free paths ran")
    return
  end

  it("was recorded", function()
    assert.is_table(record, "spec/support/record_hooks.lua did not run (the .busted helper)")
    local text = assert(helpers.read_file(record.path))
    local n = select(2, text:gsub("\n", ""))
    -- every spec file's clients: thousands of events when the whole suite ran
    assert.is_true(n > 0, "no event recorded")
    assert.is_nil(text:find("unencodable event", 1, true))
  end)

  it("holds no secret key, session token, sensitive member or signature", function()
    assert.is_table(record)
    local text = assert(helpers.read_file(record.path))
    local secrets = {}
    for _, s in ipairs(FIXED) do secrets[#secrets + 1] = s end
    -- (at least 8 characters: a shorter test key such as "secret" is also a word of messages)
    for s in (helpers.read_file(record.secrets_path) or ""):gmatch("[^\n]+") do
      if #s >= 8 then secrets[#secrets + 1] = s end
    end
    assert.is_true(#secrets > #FIXED, "no secret was recorded from the specs")
    local leaks = {}
    local cjson = require("cjson")
    for _, s in ipairs(secrets) do
      -- as it is, and as the recorder's JSON writes it ("/" escaped)
      if text:find(s, 1, true) or text:find(cjson.encode(s):sub(2, -2), 1, true) then
        leaks[#leaks + 1] = s
      end
    end
    assert.same({}, leaks)
    assert.is_nil(text:find("Signature=%x"), "a signature reached a hook")
  end)
end)
