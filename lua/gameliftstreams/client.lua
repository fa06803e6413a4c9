--- The client object: one method per model operation, and the call pipeline
-- validate -> ClientToken -> serialise -> endpoint/credentials (lazy) ->
-- { sign -> send -> parse; retry with back-off } -> output or error object.
local core = require("gameliftstreams.core")
local errors = require("gameliftstreams.errors")
local model = require("gameliftstreams.model")
local validate = require("gameliftstreams.validate")
local protocol = require("gameliftstreams.protocol")
local endpoints = require("gameliftstreams.endpoints")
local config = require("gameliftstreams.config")
local credentials = require("gameliftstreams.credentials")
local retry = require("gameliftstreams.retry")
local pipeline = require("gameliftstreams.pipeline")
local hooks = require("gameliftstreams.hooks")
local text = require("gameliftstreams.text")
local options = require("gameliftstreams.options")

local _M = { _VERSION = "0.1.0" }

local type, pairs, tostring, tonumber, pcall, require, setmetatable, error =
  type, pairs, tostring, tonumber, pcall, require, setmetatable, error
local floor = math.floor
local lower, find = string.lower, string.find

local build, reader_of = protocol.build, protocol.reader

local SERVICE = model.metadata.signing_name or "gameliftstreams"
-- The service's key in AWS_ENDPOINT_URL_<KEY> and a profile's services section.
local SERVICE_KEY = (model.metadata.env_suffix or "GAMELIFTSTREAMS"):lower()

local lua_id
if type(jit) == "table" and jit.version then -- luacheck: ignore
  lua_id = "luajit/" .. (jit.version:match("(%d+%.%d+[%.%d]*)") or "2") -- luacheck: ignore
else
  lua_id = "lua/" .. (_VERSION:match("(%d+%.%d+)") or "5")
end
local USER_AGENT = "gameliftstreams-lua/" .. _M._VERSION .. " " .. lua_id

-- Operation names: PascalCase and snake_case both resolve to the model name.
local op_by_name = {}
for name, def in pairs(model.operations) do
  op_by_name[name] = name
  if def.snake then op_by_name[def.snake] = name end
end

--- The model name of an operation given as "StartStreamSession" or "start_stream_session".
function _M.operation_name(op)
  return op_by_name[op]
end

local Client = {}
local client_mt = { __index = Client }
client_mt.__tostring = function(self)
  return "gameliftstreams client (" .. tostring(self.region or "region unresolved") .. ")"
end
_M.Client = Client

-- `client.get_stream_group{...}` (a dot for a colon) passes the input as self: say so, rather
-- than "attempt to call a nil value (method 'call')". A table that has the client's `call`
-- (the client, or an object inheriting from it) is a client.
local function check_self(self, method)
  if type(self) ~= "table" or self.call ~= Client.call then
    error("client." .. method .. " must be called as a method: client:" .. method
      .. "(...), with a colon", 3)
  end
end
_M.check_self = check_self

_M.OPTIONS = options.OPTIONS
local check_options, NOT_TOKEN = options.check, options.NOT_TOKEN

---------------------------------------------------------------------------
-- Endpoint
---------------------------------------------------------------------------

-- The rules' endpoint for `configured` (the configured endpoint URL, or nil for none): the
-- client settles configured endpoints itself (config.configured_endpoint).
local function resolve_endpoint(region, use_fips, configured)
  local ep, msg = endpoints.for_client{ region = region, use_fips = use_fips, endpoint = configured }
  if not ep then
    if errors.is(msg) then return nil, msg end
    return nil, errors.new{ code = "EndpointError", message = tostring(msg) }
  end
  local url = ep.url or ep
  if type(url) ~= "string" or not url:match("^[hH][tT][tT][pP][sS]?://[^/]+") then
    return nil, errors.new{ code = "EndpointError", message = "not an http(s) URL: " .. tostring(url) }
  end
  return url
end

-- The User-Agent: ours, then app/<application id>, then the caller's suffix. An id from the
-- environment or the profile is used as the AWS SDKs use it: characters a token cannot hold
-- become "-" (botocore does the same); the option itself is checked instead.
local function user_agent(app_id, suffix)
  local ua = USER_AGENT
  if app_id then ua = ua .. " app/" .. app_id:gsub(NOT_TOKEN, "-") end
  if suffix then ua = ua .. " " .. suffix end
  return ua
end

-- The client's step of the pipeline that reads an answer: the output of a 2xx (a reply that
-- does not parse is final), else the error the answer describes, for the retry decision.
local function decode_operation(_, req, resp)
  local status = resp.status or 0
  -- parse_response and parse_error never raise; the pcalls are the last line of defence all the
  -- same: no response content may raise out of a call (the raised text is not passed on)
  if status >= 200 and status < 300 then
    local pok, out, perr = pcall(protocol.parse_response, model, req.operation, resp)
    if not pok then
      out, perr = nil, errors.new{ code = "SerializationError", status = status,
        message = tostring(req.operation) .. ": the response could not be parsed" }
    end
    if out then return out end
    return nil, perr, true
  end
  local pok, perr = pcall(protocol.parse_error, model, req.operation, resp)
  if pok then return nil, perr end
  return nil, errors.new{ code = "HTTP" .. tostring(status), status = status, code_from_status = true,
    message = "HTTP " .. tostring(status) .. " error that could not be parsed" }
end

---------------------------------------------------------------------------
-- Client construction
---------------------------------------------------------------------------

--- Makes a client. No I/O: the profile, credentials and connections are used
-- on the first call.
-- @tparam[opt] table opts the options of `gls.new` (DESIGN.md) plus ca_file,
--   ca_path, max_response_bytes, user_agent_suffix, app_id, config_file,
--   credentials_file, getenv, new_2026_retries
-- @return the client, or nil and an `InvalidParameter`/`EndpointError` error
function _M.new(opts)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    return nil, errors.invalid("gls.new: options must be a table, got " .. type(opts))
  end
  local ok, err = check_options(opts)
  if not ok then return nil, err end

  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  -- The client's settings record (config.record): the shared files are read once through it,
  -- by the client, its retry strategy and its credentials chain (which get a copy of o).
  -- (config.settle_new now: what needs no file; config.settle on the first call: the rest)
  o._settings = config.record()
  local rec = config.settle_new(o, SERVICE_KEY)
  local shared
  if o.shared_dict then
    local serr
    shared, serr = require("gameliftstreams.shared_cache").dict(o.shared_dict)
    if not shared then return nil, serr end
  end

  local self = setmetatable({
    opts = o,
    skew = 0,
    -- what the pipeline reads (pipeline.lua): signing name, the SDK's headers, the decoder
    service = SERVICE,
    sdk_headers = true,
    decode = decode_operation,
    shared = shared, -- the lua_shared_dict of the shared_dict option, or nil
    -- the hook list (the option's, then the logger: log option or GLS_LOG), or nil
    hooks = hooks.for_client(o.hooks ~= nil and hooks.check(o.hooks) or nil, rec.log),
    timeout = o.timeout or 30,
    connect_timeout = o.connect_timeout or 5,
    max_response_bytes = o.max_response_bytes,
    -- the application id: the option, AWS_SDK_UA_APP_ID, else (first call) the profile's
    app_id = rec.app_id_given,
  }, client_mt)
  self.user_agent = user_agent(self.app_id, o.user_agent_suffix)

  self.region = rec.region_given -- the profile's, if need be, on the first call
  self.endpoint_configured = rec.endpoint_given
  -- FIPS: the option, else AWS_USE_FIPS_ENDPOINT, else (first call) the profile's use_fips_endpoint
  self.use_fips = rec.use_fips_given

  -- Errors the endpoint rules can tell now (FIPS with a custom endpoint, a bad URL).
  if self.endpoint_configured or self.region then
    local url, eerr = resolve_endpoint(self.region, self.use_fips == true, self.endpoint_configured)
    if not url then return nil, eerr end
    if self.endpoint_configured then self.endpoint_url = url end
  end

  -- One strategy per client: its retry quota is shared by the client's calls.
  -- (check_options has checked mode and max_attempts: retry.new raises only on misuse)
  self.retry = retry.new{
    mode = o.retry_mode, max_attempts = o.max_attempts, new_2026 = rec.new_2026_retries,
    -- AWS_RETRY_MODE / AWS_MAX_ATTEMPTS and the profile's, from the record (first call)
    getenv = function(name) return config.settle(o).retry_env[name] end,
    settings = function() return config.settle(o).profile or {} end,
  }
  return self
end

-- Settles region, endpoint and the credential provider (first call; may read files).
function Client:_prepare()
  if self.prepared then return true end
  local o = self.opts
  local rec = config.settle(o) -- the options, the environment and the profile, once
  -- A profile named by the option, AWS_DEFAULT_PROFILE or AWS_PROFILE must exist (botocore's
  -- ProfileNotFound; an empty variable is unset): a misspelt name would otherwise surface as a
  -- missing region or missing credentials.
  if rec.profile_explicit and not rec.profile_found then
    return nil, errors.invalid(string.format("profile %q (from %s) is in neither %s nor %s", rec.profile_name,
      rec.profile_source, rec.config_path, rec.credentials_path))
  end
  -- AWS_MAX_ATTEMPTS / AWS_RETRY_MODE and the profile's: a value nobody could use is refused, not
  -- replaced by the default behind the user's back
  local strategy = self.retry
  if not strategy.resolved then strategy:_resolve() end
  if strategy.config_error then return nil, errors.invalid(strategy.config_error) end
  if not self.region then
    if not rec.region then return nil, rec.region_error end
    self.region = rec.region
  end
  if self.use_fips == nil then self.use_fips = rec.use_fips end
  -- An endpoint gls.new settled is checked again when FIPS is on: it can only have come from the
  -- profile since, and the rules refuse FIPS with a custom endpoint.
  if not self.endpoint_url or self.use_fips then
    local url, eerr = resolve_endpoint(self.region, self.use_fips == true, rec.endpoint)
    if not url then return nil, eerr end
    self.endpoint_url = url
  end
  self.endpoint_base = self.endpoint_url:gsub("/+$", "")
  if not self.app_id and rec.app_id then
    self.app_id = rec.app_id
    self.user_agent = user_agent(self.app_id, o.user_agent_suffix)
  end

  -- Trust for TLS, per request (clients with different bundles share the HTTP pool):
  -- ca_file, else AWS_CA_BUNDLE, else the profile's ca_bundle; libcurl's default otherwise.
  self.ca_file = rec.ca_file
  self.ca_path = o.ca_path

  if not self.provider then
    -- The provider sees the settled region (STS needs one) and the caller's options.
    local copts = {}
    for k, v in pairs(o) do copts[k] = v end
    copts.region = self.region
    copts.ca_file = self.ca_file
    copts.hooks = self.hooks -- the SDK's own calls are seen by the same hooks
    local p, perr = credentials.from_config(copts)
    if not p then
      if not errors.is(perr) then
        perr = errors.new{ code = "CredentialsError", message = tostring(perr) }
      end
      return nil, perr
    end
    self.provider = p
  end

  self.prepared = true
  return true
end

---------------------------------------------------------------------------
-- Clock skew
---------------------------------------------------------------------------

--- Epoch seconds of an HTTP date (RFC 1123, also RFC 850 and asctime forms), or nil.
_M.parse_http_date = text.parse_http_date

-- The offset to add to the local clock when signing: this client's, or the one every nginx
-- worker shares with the shared_dict option.
function Client:_skew()
  local d = self.shared
  if d then return require("gameliftstreams.shared_cache").skew(d, self.endpoint_base) or 0 end
  return self.skew
end

function Client:_set_skew(offset)
  self.skew = offset
  local d = self.shared
  if d then require("gameliftstreams.shared_cache").set_skew(d, self.endpoint_base, offset) end
end

--- True when the error says the request's clock was off.
_M.is_clock_skew_error = retry.is_clock_skew

---------------------------------------------------------------------------
-- The call pipeline
---------------------------------------------------------------------------

-- operation name -> the list of its input's idempotency-token members, or false; made on the
-- operation's first call
local token_members = {}
local function find_token_members(opname)
  local opdef = model.operations[opname]
  local shape = opdef.input and model.shapes[opdef.input]
  local list = false
  for m, mdef in pairs(shape and shape.members or {}) do
    if mdef.idempotency_token then
      list = list or {}
      list[#list + 1] = m
    end
  end
  token_members[opname] = list
  return list
end

local function fill_idempotency_tokens(opname, input)
  local list = token_members[opname]
  if list == nil then list = find_token_members(opname) end
  if not list then return input end
  local copy
  for i = 1, #list do
    local m = list[i]
    if input == nil or input[m] == nil then
      if not copy then
        copy = {}
        for k, v in pairs(input or {}) do copy[k] = v end
      end
      copy[m] = core.uuid4()
    end
  end
  return copy or input
end

-- A call that ends before anything is sent (bad input, no region...): its error, and its end
-- for the hooks.
function Client:_unsent(err, opname)
  err.attempts, err.backoff, err.operation = 0, 0, opname
  if self.hooks then
    hooks.call_end(hooks.start(self.hooks, { operation = opname }), err)
  end
  return nil, err
end

-- The headers of a call whose input binds none, shared by the client's calls (the signer and
-- the transports only read a request's headers; the pipeline signs into a table of its own):
-- user-agent, and content-type with a JSON body. Made again when user_agent changes.
local function constant_headers(self, json)
  local ua = self.user_agent
  local t = self._const_headers
  if not t or t.ua ~= ua then
    t = { ua = ua, plain = { ["user-agent"] = ua },
          json = { ["user-agent"] = ua, ["content-type"] = protocol.JSON_CONTENT_TYPE } }
    self._const_headers = t
  end
  return json and t.json or t.plain
end

--- Calls an operation by name.
-- @tparam string op "StartStreamSession" or "start_stream_session"
-- @tparam[opt] table input the operation input (model member names)
-- @return the output table, or nil and an error object
function Client:call(op, input)
  if type(self) ~= "table" or self.retry == nil then check_self(self, "call") end
  local opname = op_by_name[op]
  if not opname then
    local msg
    if type(op) ~= "string" then
      msg = "call: the operation name must be a string (\"StartStreamSession\" or \"start_stream_session\"), got "
        .. type(op)
    else
      local hint = validate.closest(op, op_by_name)
      msg = "unknown operation '" .. op .. "'" .. (hint and (" (did you mean '" .. hint .. "'?)") or "")
    end
    return nil, errors.new{ code = "InvalidParameter", attempts = 0, backoff = 0, message = msg }
  end
  local ok, verr = validate.input(model, opname, input)
  if not ok then return self:_unsent(verr, opname) end
  -- Filled once, before the retry loop: every attempt carries the same token.
  input = fill_idempotency_tokens(opname, input)

  -- once the endpoint is settled the path is built after it: the URL is one string
  local base = self.prepared and self.endpoint_base or nil
  local method, url, query, headers, body = build(model, opname, input, base)
  if not method then return self:_unsent(url, opname) end

  if not self.prepared then
    local pok, perr = self:_prepare()
    if not pok then return self:_unsent(perr, opname) end
  end

  if not base then url = self.endpoint_base .. url end
  if query ~= "" then url = url .. "?" .. query end
  -- user-agent is unsigned (the signer leaves it out)
  if headers then
    headers["user-agent"] = self.user_agent
  else -- none of the input's: the client's table of its own, which nothing changes
    headers = constant_headers(self, body ~= nil)
  end
  if body == nil and (method == "POST" or method == "PUT" or method == "PATCH") then
    body = "" -- Content-Length: 0, as the official SDKs send
  end
  -- The call's request, made at its size: the pipeline hands it to the transport too, which
  -- reads the transfer settings from it (see pipeline.lua).
  local req = { method = method, url = url, headers = headers, body = body, operation = opname,
                reader = reader_of(model, opname) or nil, timeout = self.timeout,
                connect_timeout = self.connect_timeout }
  -- what no hook may see of this call: the values of its sensitive members
  if self.hooks then req.secrets = hooks.sensitive_strings(model, model.operations[opname].input, input) end

  local out, err = pipeline.send(self, req)
  if out ~= nil then return out end
  err.operation = err.operation or opname
  -- a service that quotes the input quotes no sensitive member's value (the pipeline has cut
  -- the attempt's credentials and signature)
  if err.status then
    errors.cut_secrets(err, req.secrets or hooks.sensitive_strings(model, model.operations[opname].input, input))
  end
  return nil, err
end

---------------------------------------------------------------------------
-- One method per operation, generated from the model
---------------------------------------------------------------------------


for name, def in pairs(model.operations) do
  local opname, snake = name, def.snake
  Client[snake] = function(self, input)
    if type(self) ~= "table" or self.call ~= Client.call then check_self(self, snake) end
    return self:call(opname, input)
  end
end

--- Pages of a paginated operation (see paginate.lua).
function Client:pages(op, input, opts)
  check_self(self, "pages")
  return require("gameliftstreams.paginate").pages(self, op_by_name[op] or op, input, opts)
end

--- Items of a paginated operation, across pages (see paginate.lua).
function Client:items(op, input, opts)
  check_self(self, "items")
  return require("gameliftstreams.paginate").items(self, op_by_name[op] or op, input, opts)
end

--- Waits for a model waiter ("stream_session_active" or "StreamSessionActive").
function Client:wait(name, input, opts)
  check_self(self, "wait")
  return require("gameliftstreams.waiters").wait(self, name, input, opts)
end

--- Starts a stream session and waits until it is active (see sessions.lua).
function Client:start_session_and_wait(input, opts)
  check_self(self, "start_session_and_wait")
  return require("gameliftstreams.sessions").start_and_wait(self, input, opts)
end

--- The clean-up jobs start_session_and_wait left running for this client (records with
-- client_token, session_arn, status, attempts, last_error; see sessions.lua).
function Client:pending_cleanups()
  check_self(self, "pending_cleanups")
  return require("gameliftstreams.sessions").pending(self)
end

--- Waits (at most max_seconds, default: their bound) until this client's clean-up jobs are
-- settled; outside a task it drives the scheduler. true, or false and the pending records.
function Client:drain_cleanups(max_seconds)
  check_self(self, "drain_cleanups")
  return require("gameliftstreams.sessions").drain(self, max_seconds)
end

_M.USER_AGENT = USER_AGENT

return _M
