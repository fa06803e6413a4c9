--- restJson1, the response side: an HTTP response becomes an output table or an error object.
-- The body is decoded once, in C, straight into the output's shape (core.json_plan: the one
-- JSON decoder and the one shape check, csrc/json.c and csrc/ljson.c; what it checks is at the
-- top of csrc/ljson.c). Never raises on what a server sent. Reached through
-- gameliftstreams.protocol (protocol.lua), with the request side (protocol/request.lua); the
-- parsing choices are listed there.
local core = require("gameliftstreams.core")
local errors = require("gameliftstreams.errors")
local retry = require("gameliftstreams.retry")
local text = require("gameliftstreams.text")

local _M = {}

local type, pairs, ipairs, next, tostring, pcall = type, pairs, ipairs, next, tostring, pcall
local setmetatable = setmetatable
local format, sub, find, lower = string.format, string.sub, string.find, string.lower
local json_plan, json_decode, json_quote = core.json_plan, core.json_decode, core.json_quote

local function ref_name(ref)
  if type(ref) == "table" then return ref.shape end
  return ref
end

---------------------------------------------------------------------------
-- Response parsing
---------------------------------------------------------------------------

_M.parse_iso8601 = text.parse_rfc3339

-- What is worked out once per shapes table (held weakly): its decoder (core.json_plan), and
-- per operation its output shape's name and the output members bound to a header or the
-- status code (see op_info).
local plans = setmetatable({}, { __mode = "k" })

local function plan_of(shapes)
  local p = plans[shapes]
  if not p then
    p = { decode = json_plan(shapes), ops = {} }
    plans[shapes] = p
  end
  return p
end

--- Decodes the JSON text `json` straight into shape `shape_name` of the model, checking the
-- model's types as a response's body is checked.
-- @return the value (nil for JSON null or a text of white space only); or nil, what was
--   expected and where (a member path such as ".Items[2].CreatedAt", "" for the whole value)
--   when it does not have the model's types, or nil, "JSON text (RFC 8259)", "" when it is not JSON
function _M.convert(model, shape_name, json)
  local v, why, expected, where = plan_of(model.shapes).decode(json, shape_name)
  if why == "type" then return nil, expected, where end
  if why == "syntax" then return nil, "JSON text (RFC 8259)", "" end
  return v
end

local header = text.header
_M.header = header

-- An operation's output: { output = shape name (nil: none), located = nil or the members that
-- come from the response's headers or status code, as { { member name, member def }, ... } },
-- found once per operation.
local function op_info(p, model, op)
  local opdef = model.operations[op]
  local out_shape = opdef and ref_name(opdef.output)
  local shape = out_shape and model.shapes[out_shape]
  local info = { output = out_shape }
  for m, mdef in pairs(shape and shape.members or {}) do
    if mdef.location == "header" or mdef.location == "statusCode" then
      info.located = info.located or {}
      info.located[#info.located + 1] = { m, mdef }
    end
  end
  -- the body alone makes the output: a transport may decode it (the pipeline's req.reader)
  info.reader = opdef ~= nil and not info.located and { p.decode, out_shape } or false
  p.ops[op] = info
  return info
end

local function serialization_error(op, resp, message, path)
  local e = errors.new{ code = "SerializationError", status = resp.status, message = op .. ": " .. message,
    request_id = text.request_id(resp.headers), operation = op }
  e.path = path
  return e
end

-- Header-bound and status-code output members (none in this model today) into out: out, or
-- nil and the error. A header's value goes through the decoder as the JSON string it is, so it
-- is checked as a body's would be.
local function add_located(model, op, resp, out, list)
  for _, lm in ipairs(list) do
    local m, mdef = lm[1], lm[2]
    if mdef.location == "header" then
      local name = lower(mdef.name or m)
      local hv = header(resp.headers, name)
      if hv ~= nil then
        local cv, hexp = _M.convert(model, ref_name(mdef), json_quote(tostring(hv)))
        if cv == nil then
          return nil, serialization_error(op, resp, "response header " .. name .. ": expected "
            .. tostring(hexp), "output." .. m)
        end
        out[m] = cv
      end
    else
      out[m] = resp.status
    end
  end
  return out
end

local function parse_response(model, op, resp)
  local shapes = model.shapes
  local p = plans[shapes] or plan_of(shapes)
  local info = p.ops[op] or op_info(p, model, op)
  local body = resp.body
  local out, why, expected, where
  -- an operation without output (info.output nil) still gets a JSON object, or nothing
  if body then out, why, expected, where = p.decode(body, info.output) end
  if out == nil then
    if why == "syntax" then
      return nil, serialization_error(op, resp, "the response body is not valid JSON")
    elseif why == "type" and where ~= "" then
      local path = "output" .. where
      return nil, serialization_error(op, resp, path .. ": expected " .. expected
        .. " (the response has another type or an invalid value)", path)
    elseif why ~= nil and why ~= "empty" then
      -- an array, a string, a number or null, as the JS SDK v3 refuses them
      return nil, serialization_error(op, resp, "the response body is not a JSON object")
    end
    out = {}
  end
  if info.located then return add_located(model, op, resp, out, info.located) end
  return out
end

--- The reader of an operation's 2xx body: { decoder, output shape name } for a transport that
-- decodes the body where it holds it (pipeline.lua, req.reader: it then answers the output, nil
-- and the status, the output parse_response would give), or false when the output has members
-- bound to headers or the status code.
function _M.reader(model, op)
  local p = plans[model.shapes] or plan_of(model.shapes)
  return (p.ops[op] or op_info(p, model, op)).reader
end

--- Parses a successful (2xx) response: `{ status, headers, body }` (a transport that decoded
-- the body with the operation's reader hands the pipeline the output itself). Never raises:
-- whatever the body holds, the answer is the output table or a `SerializationError` naming
-- the member path and the type expected (never the value).
-- @return the output table, or nil and a `SerializationError` error object
function _M.parse_response(model, op, resp)
  local ok, out, err = pcall(parse_response, model, op, resp)
  if ok then return out, err end
  -- a defect of this module: said without the raised text, which might quote the response
  return nil, errors.new{ code = "SerializationError", status = type(resp) == "table" and resp.status or nil,
    operation = op, message = tostring(op) .. ": the response could not be parsed" }
end

--- Normalises a restJson1 error code: keeps what comes before a "," (a header sent twice,
-- joined by the transport), strips a ":..." suffix and a "namespace#" prefix.
function _M.clean_code(code)
  if type(code) ~= "string" then return nil end
  local c = code
  local comma = find(c, ",", 1, true)
  if comma then c = sub(c, 1, comma - 1) end
  local colon = find(c, ":", 1, true)
  if colon then c = sub(c, 1, colon - 1) end
  local hash = c:match(".*()#")
  if hash then c = sub(c, hash + 1) end
  c = c:match("^%s*(.-)%s*$")
  if c == "" then return nil end
  return c
end
local clean_code = _M.clean_code

local function parse_error(model, op, resp)
  local status = resp.status
  local headers = resp.headers or {}
  local decoded
  local body = resp.body
  if type(body) == "string" then
    local v = json_decode(body)
    if type(v) == "table" then decoded = v end
  end
  -- the header, else the body's code (or Code), else its __type: botocore's RestJSONParser
  -- and the JS SDK v3 (loadRestJsonErrorCode) both read code before __type
  local code = clean_code(header(headers, "x-amzn-errortype"))
  if not code and decoded then
    code = clean_code(decoded.code) or clean_code(decoded.Code) or clean_code(decoded.__type)
  end
  local message
  if decoded then
    for _, k in pairs({ "message", "Message", "errorMessage", "ErrorMessage" }) do
      local m = decoded[k]
      if type(m) == "string" then message = m break end
    end
  end
  local from_status = false
  if not code then
    code = "HTTP" .. tostring(status)
    from_status = true
  end
  if not message then
    if decoded then
      message = "HTTP " .. tostring(status) .. " error without a message"
    elseif body and find(body, "%S") then
      local ctype = header(headers, "content-type")
      message = format("HTTP %s error with a non-JSON body (%s%d bytes)", tostring(status),
        ctype and (tostring(ctype) .. ", ") or "", #body)
    else
      message = "HTTP " .. tostring(status) .. " error with an empty body"
    end
  end
  -- retryable and throttling: the model's flags for its errors, else the SDK's one classifier
  local def = model.errors and model.errors[code]
  local retryable, throttling
  if def then
    retryable = def.retryable == true
    throttling = def.throttling == true
  else
    throttling = retry.THROTTLING_CODES[code] == true
    retryable = retry.classify{ code = code, status = status, throttling = throttling } ~= nil
  end
  local e = errors.new{
    code = code, message = message, status = status,
    request_id = text.request_id(headers),
    retryable = retryable, throttling = throttling, operation = op,
    fault = def and def.fault or (type(status) == "number" and status >= 500 and "server" or "client"),
  }
  if from_status then e.code_from_status = true end
  -- Modeled members of the error shape (besides the message), e.g. for future fields; left out
  -- when they do not have the model's types (the error itself is what matters).
  local shape = decoded and def and model.shapes[code]
  if shape and shape.type == "structure" then
    local fields = plan_of(model.shapes).decode(body, code)
    if type(fields) == "table" then
      fields.Message, fields.message = nil, nil
      if next(fields) ~= nil then e.fields = fields end
    end
  end
  return e
end

--- Builds the error object of a non-2xx response. Never raises.
-- The code comes from `x-amzn-errortype`, else the body's `code`, `Code` or
-- `__type`; the status never decides the code (two errors share HTTP 409).
function _M.parse_error(model, op, resp)
  local ok, e = pcall(parse_error, model, op, resp)
  if ok then return e end
  local status = type(resp) == "table" and resp.status or nil
  return errors.new{ code = "HTTP" .. tostring(status), code_from_status = true, status = status,
    operation = op, fault = type(status) == "number" and status >= 500 and "server" or "client",
    retryable = retry.classify{ code = "HTTP" .. tostring(status), status = status } ~= nil,
    message = "HTTP " .. tostring(status) .. " error that could not be parsed" }
end

return _M
