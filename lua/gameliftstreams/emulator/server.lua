--- The local GameLift Streams emulator: one request from routing to answer (restJson1,
-- SigV4 verification, faults, the request log, idempotent creation), on top of httpd.
-- The control API is control.lua, fault injection faults.lua, the request log
-- requestlog.lua, routing and input checks input.lua, the operations resources/*.lua
-- (gathered by ops.lua), the command line cli.lua.
local json = require("gameliftstreams.emulator.json")
local state = require("gameliftstreams.emulator.state")
local ops = require("gameliftstreams.emulator.ops")
local auth = require("gameliftstreams.emulator.auth")
local faults = require("gameliftstreams.emulator.faults")
local routing = require("gameliftstreams.emulator.input")
local requestlog = require("gameliftstreams.emulator.requestlog")

local ok_core, core = pcall(require, "gameliftstreams.core")
if not ok_core then core = {} end

local _M = { _VERSION = "0.1" }
local mt = { __index = _M }

_M.DEFAULT_ACCESS_KEY = "AKIDEMULATOR"
_M.DEFAULT_SECRET = "emulator-secret"
_M.ERRORTYPE_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/"

local STATUS = {
  ValidationException = 400, ServiceQuotaExceededException = 402, AccessDeniedException = 403,
  ResourceNotFoundException = 404, ConflictException = 409, StreamSessionAccessNotReadyException = 409,
  ThrottlingException = 429, InternalServerException = 500, UnknownOperationException = 404,
  InvalidSignatureException = 403, UnrecognizedClientException = 403,
  MissingAuthenticationTokenException = 403, IncompleteSignatureException = 400,
}

local function uuid4()
  if core.uuid4 then return core.uuid4() end
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = 0x40 + (t[7] % 16)
  t[9] = 0x80 + (t[9] % 64)
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
    t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15], t[16])
end

--- Creates an emulator. opts: delay_scale, account, region, credentials ({ {key, secret, token} }),
-- no_default_credentials, auth (default true), log_size (default 1000), log_bytes (default 16 MiB).
function _M.new(opts)
  opts = opts or {}
  local self = setmetatable({ opts = opts }, mt)
  self:reset()
  return self
end

function _M:reset()
  local opts = self.opts
  self.st = state.new{ delay_scale = opts.delay_scale or 1, account = opts.account, region = opts.region }
  self.creds = {}
  if not opts.no_default_credentials then
    self.creds[_M.DEFAULT_ACCESS_KEY] = { secret = _M.DEFAULT_SECRET }
  end
  for _, c in ipairs(opts.credentials or {}) do
    self.creds[c[1]] = { secret = c[2], session_token = c[3] }
  end
  self.faults = {}
  self.fault_seq = 0
  self.log = requestlog.new(opts.log_size or 1000, opts.log_bytes)
  self.auth = opts.auth ~= false
  self.errortype_suffix = false
end

-- responses -----------------------------------------------------------------------------

function _M:base_headers(request_id)
  return {
    ["x-amzn-requestid"] = request_id,
    ["Date"] = auth.http_date(self.st:clock()),
  }
end

function _M:error_response(request_id, code, message, status, extra)
  local h = self:base_headers(request_id)
  h["Content-Type"] = "application/json"
  -- the real service may append its namespace; clients must strip it
  h["x-amzn-errortype"] = self.errortype_suffix and (code .. ":" .. _M.ERRORTYPE_NAMESPACE) or code
  for k, v in pairs(extra or {}) do h[k] = v end
  return status or STATUS[code] or 400, h, json.encode({ message = message })
end

function _M:json_response(request_id, status, body)
  local h = self:base_headers(request_id)
  if status == 204 then return status, h, "" end
  h["Content-Type"] = "application/json"
  return status, h, json.encode(body or {})
end

-- replay of an idempotent creation: the resource as it is now
local RENDER = {
  CreateApplication = function(st, r) return st:app_output(r) end,
  CreateStreamGroup = function(st, r) return st:group_output(r) end,
  StartStreamSession = function(st, r) return st:session_output(r) end,
  CreateStreamUrl = function(st, r) return st:url_output(r) end,
}

--- Runs an operation: status, output table | nil, err.
function _M:call(route, labels, query, input, req)
  local st = self.st
  local ctx = {
    st = st, labels = labels, query = query, input = input, op = route.op,
    region = req.region or st.region,
    base_url = "http://" .. (req.headers.host or "127.0.0.1"),
  }
  local key, fp
  if ops.token_ops[route.op] and input.ClientToken then
    key = route.op .. "|" .. input.ClientToken
    local copy = {}
    for k, v in pairs(input) do if k ~= "ClientToken" then copy[k] = v end end
    fp = json.encode({ labels = labels, input = copy })
    local prev = st.tokens[key]
    if prev then
      if prev.fp ~= fp then
        return nil, { code = "ConflictException", message =
          "The ClientToken was already used for a " .. route.op .. " request with different parameters" }
      end
      local render = RENDER[route.op]
      return prev.status, render and render(st, prev.resource) or prev.output
    end
  end
  local status, out, resource = ops.handlers[route.op](ctx)
  if status and key then
    st.tokens[key] = { fp = fp, status = status, resource = resource, output = out }
  end
  return status, out
end

-- the request handler -----------------------------------------------------------------------

function _M:handle(req)
  local request_id = uuid4()
  if req.path:sub(1, 11) == "/_emulator/" then
    return require("gameliftstreams.emulator.control").handle(self, req, request_id)
  end
  self.st:sweep()
  local route, labels = routing.route(req.method, req.path)
  local entry = self.log:entry(req, request_id, route and route.op or nil, state.ms(self.st:clock()))
  local function finish(status, headers, body)
    if type(status) == "number" then
      entry.status = status
      entry.error = headers["x-amzn-errortype"] and headers["x-amzn-errortype"]:match("^[^:]+")
    end
    if not (entry.auth and entry.auth.ok == false) then requestlog.add_content(entry, req) end
    self.log:commit(entry)
    return status, headers, body
  end
  if not route then
    return finish(self:error_response(request_id, "UnknownOperationException",
      string.format("No operation matches %s %s", req.method, req.path), labels and 405 or 404))
  end
  local fault = faults.take(self, route.op)
  if fault then
    entry.fault = fault.kind
    if not fault.after and fault.kind ~= "slow" then
      return finish(faults.response(self, fault, request_id))
    end
  end
  if self.auth then
    local info, aerr = auth.verify(req, { credentials = self.creds, now = self.st:clock(), sign = core.sign })
    if not info then
      entry.auth = { ok = false, code = aerr.code }
      if aerr.info then
        entry.auth.canonical_request = requestlog.redact_canonical(aerr.info.canonical_request)
        entry.auth.string_to_sign = aerr.info.string_to_sign
      end
      local extra = aerr.date and { Date = auth.http_date(aerr.date) } or nil
      return finish(self:error_response(request_id, aerr.code, aerr.message, aerr.status, extra))
    end
    entry.auth = { ok = true, access_key_id = info.access_key_id, region = info.region }
    req.region = info.region
  end
  local status, out
  local query, input = routing.parse_input(req, route, labels)
  if not query then
    out = input
  else
    status, out = self:call(route, labels, query, input, req)
  end
  local result
  if status then
    if status == 200 or status == 201 then status = route.success end
    result = { self:json_response(request_id, status, out) }
  else
    result = { self:error_response(request_id, out.code, out.message) }
  end
  if fault then return finish(faults.response(self, fault, request_id, result)) end
  return finish(result[1], result[2], result[3])
end

--- The httpd handler function of this emulator.
function _M:handler()
  return function(req)
    local ok, status, headers, body = pcall(self.handle, self, req)
    if not ok then
      io.stderr:write("gameliftstreams-emulator: internal error: ", tostring(status), "\n")
      return self:error_response(uuid4(), "InternalServerException", "The emulator failed: " .. tostring(status), 500)
    end
    return status, headers, body
  end
end

_M.route = routing.route
_M.STATUS = STATUS

--- Parses command-line arguments (cli.lua).
function _M.parse_args(argv) return require("gameliftstreams.emulator.cli").parse_args(argv) end

--- Entry point of bin/gameliftstreams-emulator (cli.lua).
function _M.main(argv) return require("gameliftstreams.emulator.cli").main(argv) end

return _M
