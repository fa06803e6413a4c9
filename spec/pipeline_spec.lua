-- pipeline.send, the one exchange every request goes through, with a scripted transport
-- (svc.http): the integration specs (client, credentials, wire) run it over real sockets.
local pipeline = require("gameliftstreams.pipeline")
local retry = require("gameliftstreams.retry")
local errors = require("gameliftstreams.errors")

-- A transport answering from `script` in order, recording each request it was handed as it was
-- then (the pipeline hands the call's request table, with each attempt's headers).
local function scripted(script)
  local sent = {}
  return sent, function(req)
    local copy = {}
    for k, v in pairs(req) do copy[k] = v end
    sent[#sent + 1] = copy
    local a = script[#sent]
    if a.error then return nil, errors.new(a.error) end
    return { status = a.status, headers = a.headers or {}, body = a.body or "" }
  end
end

local function decode(_, _, resp)
  if resp.status == 200 then return resp.body end
  return nil, errors.new{ code = resp.headers["x-amzn-errortype"] or "HTTP" .. resp.status,
                          status = resp.status, message = resp.body }
end

local function svc(http, extra)
  local s = { retry = retry.new{ max_attempts = 3, mode = "standard", base = 0,
                                 getenv = function() return nil end }, decode = decode, http = http }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

describe("pipeline.send", function()
  it("retries what the classifier retries, and returns the decoded output", function()
    local sent, http = scripted{ { status = 503 }, { error = { code = "NetworkError", message = "reset" } },
                                 { status = 200, body = "ok" } }
    assert.equal("ok", pipeline.send(svc(http), { method = "GET", url = "http://x/", headers = {} }))
    assert.equal(3, #sent)
  end)

  it("returns the failure with attempts and backoff, and the last response", function()
    local _, http = scripted{ { status = 400, headers = { ["x-amzn-errortype"] = "ValidationException" },
                                body = "bad" } }
    local out, err, resp = pipeline.send(svc(http), { method = "GET", url = "http://x/", headers = {} })
    assert.is_nil(out)
    assert.equal("ValidationException", err.code)
    assert.equal(1, err.attempts)
    assert.equal(0, err.backoff)
    assert.is_false(err.retryable)
    assert.equal(400, resp.status)
  end)

  it("cuts each attempt's secret key, session token and signature out of the service's text in its error", function()
    local creds = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret-key-0123456789",
                    session_token = "session-token-" .. string.rep("z", 30) }
    local sigs = {}
    -- a service that quotes the headers it got, in its message and in a modelled field
    local http = function(req)
      local h = req.headers
      sigs[#sigs + 1] = h.authorization:match("Signature=(%x+)")
      return { status = #sigs < 2 and 500 or 400, headers = {},
               body = "auth " .. h.authorization .. " token " .. h["x-amz-security-token"] .. " key " .. creds.secret_access_key }
    end
    local s = svc(http, { service = "gameliftstreams", region = "us-west-2",
                          provider = { get = function() return creds end } })
    s.decode = function(_, _, resp)
      return nil, errors.new{ code = resp.status == 500 and "InternalServerException" or "ValidationException",
        status = resp.status, message = resp.body, retryable = resp.status == 500,
        fields = { Echo = resp.body, Count = 3 } }
    end
    local _, err = pipeline.send(s, { method = "GET", url = "https://gameliftstreams.us-west-2.api.aws/applications",
                                      headers = {} })
    assert.equal("ValidationException", err.code)
    assert.equal(2, #sigs)
    assert.matches("^auth AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/.+ Signature=REDACTED token REDACTED key REDACTED$",
      err.message)
    assert.equal(err.message, err.fields.Echo)
    assert.equal(3, err.fields.Count)
  end)

  it("counts the attempts and the back-off of a call that retried: sent ones only", function()
    local _, http = scripted{ { status = 503 }, { status = 503 }, { status = 503 } }
    local s = svc(http)
    s.retry = retry.new{ max_attempts = 3, mode = "standard", base = 0.001, rng = function() return 1 end,
                         getenv = function() return nil end }
    local _, err = pipeline.send(s, { method = "GET", url = "http://x/", headers = {} })
    assert.equal(3, err.attempts)
    assert.is_true(math.abs(err.backoff - 0.003) < 1e-9) -- 0.001 * 2^0 + 0.001 * 2^1
    local n = 0
    local _, http2 = scripted{ { status = 503 }, { status = 200 } }
    s = svc(http2, { service = "sts", region = "us-east-1",
      provider = { get = function()
        n = n + 1
        if n == 1 then return { access_key_id = "A", secret_access_key = "s" } end
        return nil, errors.new{ code = "CredentialsError", message = "gone" }
      end } })
    _, err = pipeline.send(s, { method = "GET", url = "http://x/", headers = {} })
    assert.equal("CredentialsError", err.code)
    assert.equal(1, err.attempts) -- the second was never sent
    assert.equal(0, err.backoff)
  end)

  it("stops at once on a cancelled transfer", function()
    local sent, http = scripted{ { error = { code = "Cancelled", message = "the task was cancelled" } },
                                 { status = 200 } }
    local _, err = pipeline.send(svc(http), { method = "GET", url = "http://x/", headers = {} })
    assert.equal("Cancelled", err.code)
    assert.equal(1, #sent)
  end)

  it("signs each attempt when svc.service is set, and never changes the request's headers", function()
    local sent, http = scripted{ { status = 500 }, { status = 200, body = "ok" } }
    local headers = { ["content-type"] = "text/plain" }
    local s = svc(http, { service = "sts", region = "us-east-1" })
    local creds = { access_key_id = "AKID", secret_access_key = "secret" }
    assert.equal("ok", pipeline.send(s, { method = "POST", url = "http://x/", headers = headers,
                                          body = "a=b", credentials = creds }))
    assert.equal(2, #sent)
    for _, req in ipairs(sent) do
      assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKID/%d+/us%-east%-1/sts/aws4_request",
                     req.headers.authorization)
    end
    assert.same({ ["content-type"] = "text/plain" }, headers)
  end)

  it("hands the transport the call's request with svc's transfer settings, each attempt's headers in it", function()
    local handed = {}
    local http = function(req)
      handed[#handed + 1] = { req = req, headers = req.headers, timeout = req.timeout }
      if #handed == 1 then return { status = 500, headers = {}, body = "" } end
      return { status = 200, headers = {}, body = "ok" }
    end
    local headers = { accept = "a" }
    local req = { method = "GET", url = "http://x/", headers = headers }
    local s = svc(http, { service = "sts", region = "us-east-1", timeout = 7, connect_timeout = 2,
                          max_response_bytes = 100, ca_file = "/ca.pem",
                          provider = { get = function() return { access_key_id = "A", secret_access_key = "s" } end } })
    assert.equal("ok", pipeline.send(s, req))
    assert.equal(req, handed[1].req)
    assert.equal(req, handed[2].req)
    assert.are_not.equal(headers, handed[1].headers)
    assert.are_not.equal(handed[1].headers, handed[2].headers) -- each attempt signed anew
    assert.equal("a", handed[2].headers.accept)
    assert.equal(7, handed[1].timeout)
    assert.equal(headers, req.headers) -- the request's own headers again, unchanged
    assert.same({ accept = "a" }, headers)
    assert.same({ 7, 2, 100, "/ca.pem" }, { req.timeout, req.connect_timeout, req.max_response_bytes, req.ca_file })
  end)

  it("sends unsigned without svc.service, and adds the SDK headers only with svc.sdk_headers", function()
    local sent, http = scripted{ { status = 200, body = "ok" } }
    pipeline.send(svc(http), { method = "GET", url = "http://x/", headers = { accept = "a" } })
    assert.same({ accept = "a" }, sent[1].headers)
  end)

  it("corrects the clock once from the answer's Date and resends at once", function()
    local core = require("gameliftstreams.core")
    local later = os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(core.time()) + 3600)
    local sent, http = scripted{
      { status = 403, headers = { ["x-amzn-errortype"] = "InvalidSignatureException", date = later },
        body = "Signature expired" },
      { status = 403, headers = { ["x-amzn-errortype"] = "InvalidSignatureException", date = later },
        body = "Signature expired" } }
    local skew = 0
    local s = svc(http, { service = "gameliftstreams", region = "us-west-2",
                          provider = { get = function() return { access_key_id = "A", secret_access_key = "s" } end },
                          _skew = function() return skew end, _set_skew = function(_, v) skew = v end })
    local _, err = pipeline.send(s, { method = "GET", url = "http://x/", headers = {} })
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(2, #sent) -- one resend for the skew, then not retried
    assert.is_true(math.abs(skew - 3600) < 5)
    assert.are_not.equal(sent[1].headers["x-amz-date"], sent[2].headers["x-amz-date"])
  end)

  it("resends for the skew only within max_attempts, and corrects the clock all the same", function()
    local core = require("gameliftstreams.core")
    local later = os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(core.time()) + 3600)
    local skewed = { status = 403, headers = { ["x-amzn-errortype"] = "InvalidSignatureException", date = later },
                     body = "Signature expired" }
    local function skew_svc(http, max_attempts)
      local skew = 0
      local s = svc(http, { service = "gameliftstreams", region = "us-west-2",
        retry = retry.new{ max_attempts = max_attempts, mode = "standard", base = 0,
                           getenv = function() return nil end },
        provider = { get = function() return { access_key_id = "A", secret_access_key = "s" } end },
        _skew = function() return skew end, _set_skew = function(_, v) skew = v end })
      return s, function() return skew end
    end
    -- max_attempts = 1: one request, the error, and the offset for the next call
    local sent, http = scripted{ skewed, { status = 200, body = "ok" } }
    local s, skew = skew_svc(http, 1)
    local _, err = pipeline.send(s, { method = "GET", url = "http://x/", headers = {} })
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(1, err.attempts)
    assert.equal(1, #sent)
    assert.is_true(math.abs(skew() - 3600) < 5)
    assert.equal("ok", pipeline.send(s, { method = "GET", url = "http://x/", headers = {} }))
    assert.equal(2, #sent)
    assert.are_not.equal(sent[1].headers["x-amz-date"], sent[2].headers["x-amz-date"])
    -- the skew on the last of max_attempts = 2 (after a retried 503): no third request
    sent, http = scripted{ { status = 503 }, skewed, { status = 200, body = "ok" } }
    s, skew = skew_svc(http, 2)
    _, err = pipeline.send(s, { method = "GET", url = "http://x/", headers = {} })
    assert.equal("InvalidSignatureException", err.code)
    assert.equal(2, err.attempts)
    assert.equal(2, #sent)
    assert.is_true(math.abs(skew() - 3600) < 5)
  end)

  it("does not send an attempt whose credentials cannot be had", function()
    local sent, http = scripted{ { status = 200 } }
    local s = svc(http, { service = "gameliftstreams", region = "us-west-2", provider = { get = function()
      return nil, errors.new{ code = "CredentialsError", message = "none" } end } })
    local _, err = pipeline.send(s, { method = "GET", url = "http://x/", headers = {} })
    assert.equal("CredentialsError", err.code)
    assert.equal(0, err.attempts)
    assert.equal(0, #sent)
  end)

  it("hands the transport req.reader, unless there are hooks (they see every answer's headers)", function()
    local reader = { function() end, "Out" }
    local sent, http = scripted{ { status = 200, body = "ok" }, { status = 200, body = "ok" } }
    pipeline.send(svc(http), { method = "GET", url = "http://x/", headers = {}, reader = reader })
    assert.equal(reader, sent[1].reader)
    local s = svc(http, { hooks = { { after_receive = function() end } } })
    pipeline.send(s, { method = "GET", url = "http://x/", headers = {}, reader = reader })
    assert.equal(2, #sent)
    assert.is_nil(sent[2].reader)
  end)

  it("returns the output a transport decoded with the reader (output, nil, status) without svc.decode", function()
    local decoded = { Name = "n" }
    local decodes = 0
    local s = svc(function() return decoded, nil, 200 end)
    s.decode = function() decodes = decodes + 1 end
    assert.equal(decoded, pipeline.send(s, { method = "GET", url = "http://x/", headers = {},
                                             reader = { function() end, "Out" } }))
    assert.equal(0, decodes)
  end)
end)
