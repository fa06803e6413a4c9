-- The parsers the providers share: ISO 8601 times (credentials/base.lua) and STS XML
-- (credentials/sts.lua).
local credentials = require("gameliftstreams.credentials")

describe("credentials.parse_time", function()
  it("reads ISO 8601 with Z, fractions and offsets, and epoch numbers", function()
    assert.equal(0, credentials.parse_time("1970-01-01T00:00:00Z"))
    assert.equal(951782400, credentials.parse_time("2000-02-29T00:00:00Z"))
    assert.equal(951782400.25, credentials.parse_time("2000-02-29T00:00:00.25Z"))
    assert.equal(951782400 - 3600, credentials.parse_time("2000-02-29T00:00:00+01:00"))
    assert.equal(1795374000, credentials.parse_time("2026-11-22T19:00:00Z"))
    assert.equal(12, credentials.parse_time("12"))
    assert.is_nil(credentials.parse_time("tomorrow"))
  end)

  it("parses STS XML, unescaping entities", function()
    local c = credentials.parse_sts("<X><Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>a&amp;b"
      .. "</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2000-02-29T00:00:00Z</Expiration>"
      .. "</Credentials></X>")
    assert.same({ "AK", "a&b", "t", 951782400 }, { c.access_key_id, c.secret_access_key, c.session_token, c.expiration })
    local none, e = credentials.parse_sts("<ErrorResponse><Error><Code>Throttling</Code><Message>slow &lt;down&gt;"
      .. "</Message></Error><RequestId>r1</RequestId></ErrorResponse>")
    assert.is_nil(none)
    assert.same({ code = "Throttling", message = "slow <down>", request_id = "r1" }, e)
  end)
end)
