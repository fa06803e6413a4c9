-- busted helper (.busted): every client the specs make gets one more hook, which writes each
-- event it is given, as one JSON line, to build/hooks-seen-<runtime>.jsonl. With it go the secrets
-- those specs handed the SDK (credentials, sensitive members of the inputs). The last spec file,
-- spec/zz_hooks_seen_spec.lua, looks for those secrets in what the hooks received across the
-- whole suite. Credential providers made directly (credentials.from_config) get the hook too.
-- GLS_SPEC_HOOKS=0 turns the recorder off: a client without hooks takes other paths (a 2xx is
-- decoded where the transport holds it), so tools/run-tests.sh runs the suite once with the
-- recorder (lua5.4) and twice without (luajit, and lua5.4 with ASan), as users' clients run.
if os.getenv("GLS_SPEC_HOOKS") == "0" then return true end
local ok_cjson, cjson = pcall(require, "cjson")
local ok_client, client = pcall(require, "gameliftstreams.client")
if not (ok_cjson and ok_client) then return true end
local credentials = require("gameliftstreams.credentials")
local hooks = require("gameliftstreams.hooks")
local model = require("gameliftstreams.model")
local validate = require("gameliftstreams.validate")

local runtime = type(jit) == "table" and "jit" or "lua54" -- luacheck: ignore
if os.getenv("GLS_SANITIZED") then runtime = runtime .. "-asan" end
local pwd = io.popen("pwd")
local dir = pwd:read("*l") or "."
pwd:close()
local path = dir .. "/build/hooks-seen-" .. runtime .. ".jsonl"
local secrets_path = dir .. "/build/hooks-secrets-" .. runtime .. ".txt"
os.execute("mkdir -p '" .. dir .. "/build'")
local events = assert(io.open(path, "w"))
local secrets = assert(io.open(secrets_path, "w"))
local known = {}

local function secret(s)
  if type(s) == "string" and #s >= 6 and not known[s] and not s:find("\n", 1, true) then
    known[s] = true
    secrets:write(s, "\n")
    secrets:flush()
  end
end

local function keep(ev)
  local ok, line = pcall(cjson.encode, ev)
  events:write(ok and line or ("unencodable event: " .. tostring(line)), "\n")
  events:flush()
end
local RECORDER = { before_send = keep, after_receive = keep, call_end = keep }

local record = {}
package.loaded["spec_hook_recorder"] = record
record.path, record.secrets_path = path, secrets_path

-- opts with the recorder added to its hooks (unchanged when its hooks are not valid: the spec
-- checks that error).
local function with_recorder(opts)
  if type(opts) ~= "table" then return opts end
  local list = {}
  if opts.hooks ~= nil then
    local given = hooks.check(opts.hooks)
    if not given then return opts end
    for i, h in ipairs(given) do list[i] = h end
  end
  list[#list + 1] = RECORDER
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.hooks = list
  local c = opts.credentials
  if type(c) == "table" then
    local okc, s, t = pcall(function() return c.secret_access_key, c.session_token end)
    if okc then secret(s); secret(t) end
  end
  return o
end

local new = client.new
client.new = function(opts, ...)
  return new(with_recorder(opts), ...)
end

local from_config = credentials.from_config
credentials.from_config = function(opts, ...)
  if type(opts) == "table" and opts.hooks == nil then opts = with_recorder(opts) end
  return from_config(opts, ...)
end

local call = client.Client.call
client.Client.call = function(self, op, input, ...)
  local name = client.operation_name(op)
  local def = name and model.operations[name]
  -- only an input validation takes: a hostile one (spec/hostile_input_spec.lua) is refused
  -- before anything is sent, and its made-up elements are nothing a hook could see
  if def and def.input and type(input) == "table" and validate.input(model, name, input) then
    local found = {}
    pcall(hooks.sensitive_values, model, def.input, input, found, 0)
    for _, s in ipairs(found) do secret(s) end
  end
  return call(self, op, input, ...)
end

return true
