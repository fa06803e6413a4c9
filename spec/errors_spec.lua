local errors = require("gameliftstreams.errors")

describe("errors", function()
  it("builds an error object with defaults", function()
    local e = errors.new{ code = "ThrottlingException", message = "slow down" }
    assert.is_true(errors.is(e))
    assert.equal("ThrottlingException", e.code)
    assert.equal("slow down", e.message)
    assert.is_false(e.retryable)
  end)

  it("formats code, message, status and request id", function()
    local e = errors.new{ code = "ResourceNotFoundException", message = "no such group",
                          status = 404, request_id = "req-1" }
    assert.equal("ResourceNotFoundException: no such group (HTTP 404, request id req-1)", tostring(e))
  end)

  it("omits status and request id when absent", function()
    assert.equal("InvalidParameter: bad", tostring(errors.new{ code = "InvalidParameter", message = "bad" }))
    assert.equal("NetworkError: down (HTTP 0)",
      tostring(errors.new{ code = "NetworkError", message = "down", status = 0 }))
  end)

  it("never prints fields other than code, message, status and request id", function()
    local e = errors.new{ code = "X", message = "m", secret_access_key = "SECRETKEY",
                          body = "SignalRequestValue" }
    local s = tostring(e)
    assert.is_nil(s:find("SECRETKEY", 1, true))
    assert.is_nil(s:find("SignalRequestValue", 1, true))
  end)

  it("does not modify the table given to new", function()
    local t = { code = "X" }
    errors.new(t)
    assert.is_nil(getmetatable(t))
    assert.is_nil(t.message)
  end)

  it("tells error objects from other values", function()
    assert.is_false(errors.is({ code = "X" }))
    assert.is_false(errors.is("X"))
    assert.is_false(errors.is(nil))
  end)

  it("raises on a non-table argument", function()
    assert.has_error(function() errors.new("x") end)
  end)

  it("makes InvalidParameter errors", function()
    local e = errors.invalid("input.Identifier: required member is missing")
    assert.equal("InvalidParameter", e.code)
    assert.is_false(e.retryable)
  end)
end)
