-- MaxResults and NextToken (emulator/common.lua).
local E = require("support.emulator")

local url_encode, api, expect_error, create_app = E.url_encode, E.api, E.expect_error, E.create_app
local create_group = E.create_group
E.per_file()

describe("pagination", function()
  it("pages with MaxResults and opaque NextToken, ending without a token", function()
    for i = 1, 7 do create_app({ Description = "app " .. i }) end
    local seen, token, pages = {}, nil, 0
    repeat
      local q = "MaxResults=3" .. (token and ("&NextToken=" .. url_encode(token)) or "")
      local res = api("GET", "/applications", { query = q })
      assert.are.equal(200, res.status)
      pages = pages + 1
      assert.is_true(#res.json.Items <= 3)
      for _, it in ipairs(res.json.Items) do seen[#seen + 1] = it.Description end
      token = res.json.NextToken
    until not token
    assert.are.equal(3, pages)
    assert.are.same({ "app 1", "app 2", "app 3", "app 4", "app 5", "app 6", "app 7" }, seen)
  end)

  it("rejects MaxResults out of range and invalid tokens with ValidationException", function()
    for _, q in ipairs({ "MaxResults=0", "MaxResults=101", "MaxResults=abc", "NextToken=garbage" }) do
      expect_error(api("GET", "/applications", { query = q }), 400, "ValidationException")
    end
    for i = 1, 3 do create_group({ Description = "g" .. i }) end
    local t = api("GET", "/streamgroups", { query = "MaxResults=1" }).json.NextToken
    assert.is_string(t)
    -- a token of another operation is not accepted
    expect_error(api("GET", "/applications", { query = "NextToken=" .. url_encode(t) }), 400, "ValidationException")
    assert.are.equal(200, api("GET", "/streamgroups", { query = "NextToken=" .. url_encode(t) }).status)
  end)
end)
