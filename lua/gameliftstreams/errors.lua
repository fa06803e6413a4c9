--- The SDK's error object, and the SDK's one error rule.
--
-- THE RULE, followed by every module:
--   * Misuse of types (a programming error: a string where a table is required, a method
--     called with a dot, an option of the wrong type given to an internal constructor) raises
--     `error(msg, 2)`, the message naming the function and the argument.
--   * Every other failure returns `nil, err`, `err` an error object made here: bad input
--     values the caller gets at run time (InvalidParameter, naming the parameter and the rule),
--     network, HTTP, credentials, endpoint, parse, waiter, cancellation. Nothing catches a raise
--     to turn its message into an error object: checks that can fail at run time return one.
--   * A failure the C core reports (its one shape `{ code=, reason=, message= }`) becomes an
--     error object in one place, `errors.from_core` (retryable set by sched.transport_error
--     from the SDK's one classifier, retry.classify).
-- Every expected failure of the SDK is `nil, err` where `err` is a table made
-- by `errors.new`: `code`, `message`, `status` (HTTP status or nil),
-- `request_id`, `retryable`, `attempts`, `backoff`, plus optional extra fields.
-- Messages never carry secrets or sensitive member values: the code building
-- an error is responsible for that, and `__tostring` only prints the fields
-- listed above.
local _M = {}

local setmetatable, getmetatable = setmetatable, getmetatable
local tostring, type, pairs = tostring, type, pairs
local concat = table.concat

local mt = {}
_M.mt = mt

mt.__tostring = function(e)
  local parts = { tostring(e.code or "Error"), ": ", tostring(e.message or "") }
  local extra = {}
  if e.status ~= nil then extra[#extra + 1] = "HTTP " .. tostring(e.status) end
  if e.request_id ~= nil and e.request_id ~= "" then
    extra[#extra + 1] = "request id " .. tostring(e.request_id)
  end
  if #extra > 0 then
    parts[#parts + 1] = " (" .. concat(extra, ", ") .. ")"
  end
  return concat(parts)
end

--- Makes an error object.
-- @tparam table t fields: code (string, required), message, status, request_id,
--   retryable (boolean, default false), attempts, backoff, and any extra field.
-- @treturn table the error object (metatable `errors.mt`)
function _M.new(t)
  if type(t) ~= "table" then
    error("errors.new: argument must be a table", 2)
  end
  local e = {}
  for k, v in pairs(t) do e[k] = v end
  if e.code == nil then e.code = "Error" end
  e.code = tostring(e.code)
  if e.message == nil then e.message = "" end
  e.message = tostring(e.message)
  if e.retryable == nil then e.retryable = false end
  return setmetatable(e, mt)
end

--- True when `v` is an error object made by `errors.new`.
function _M.is(v)
  return type(v) == "table" and getmetatable(v) == mt
end

--- Cuts `secrets` (a list of strings, the longest first) out of what an error object keeps of a
-- service's own text, its message and its modelled fields (each occurrence becomes "REDACTED"):
-- a service may quote what it got, e.g. AWS's InvalidSignatureException quotes the canonical
-- request with its x-amz-security-token. Returns err.
function _M.cut_secrets(err, secrets)
  if type(err) ~= "table" or #secrets == 0 then return err end
  local cut = require("gameliftstreams.text").cut
  err.message = cut(err.message, secrets)
  local fields = err.fields
  if type(fields) == "table" then
    for k, v in pairs(fields) do
      if type(v) == "string" then fields[k] = cut(v, secrets) end
    end
  end
  return err
end

--- Shorthand for an `InvalidParameter` error (validation, bad options).
function _M.invalid(message)
  return _M.new{ code = "InvalidParameter", message = message, retryable = false }
end

--- The error object for a failure of the C core: the one shape csrc/ reports failures in,
-- `{ code=, reason=, message= [, curl_code=] }` (see csrc/compat.h), turned into an error object
-- here and nowhere else. Anything else (a message) becomes a NetworkError saying it.
-- @param f the failure
-- @tparam[opt] boolean retryable whether the caller may retry it (default false)
function _M.from_core(f, retryable)
  if type(f) ~= "table" then f = { code = "NetworkError", message = tostring(f) } end
  local code = f.code or "NetworkError"
  return _M.new{ code = code, message = f.message or code, reason = f.reason,
                 curl_code = f.curl_code, retryable = retryable == true }
end

return _M
