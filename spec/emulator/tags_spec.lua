-- Tags on ARNs (emulator/resources/tags.lua).
local E = require("support.emulator")

local url_encode, api, expect_error, create_app = E.url_encode, E.api, E.expect_error, E.create_app
E.per_file()

describe("tags", function()
  it("are set at create, added, listed and removed on ARNs", function()
    local a = create_app({ Tags = { env = "dev" } })
    local path = "/tags/" .. url_encode(a.Arn)
    assert.are.same({ Tags = { env = "dev" } }, api("GET", path).json)
    local res = api("POST", path, { body = { Tags = { team = "blue", ["team name"] = "x" } } })
    assert.are.equal(200, res.status)
    assert.are.equal("{}", res.body)
    assert.are.same({ env = "dev", team = "blue", ["team name"] = "x" }, api("GET", path).json.Tags)
    res = api("DELETE", path, { query = "tagKeys=env&tagKeys=team%20name" })
    assert.are.equal(200, res.status)
    assert.are.same({ team = "blue" }, api("GET", path).json.Tags)
    expect_error(api("GET", "/tags/" .. url_encode("arn:aws:gameliftstreams:us-west-2:012345678901:abcdefghi")),
      400, "ValidationException")
    expect_error(api("GET", "/tags/" .. url_encode(a.Arn:gsub("a%-%w+$", "a-000000000"))), 404,
      "ResourceNotFoundException")
    expect_error(api("DELETE", path), 400, "ValidationException")
  end)
end)
