-- The Lua side of tools/botodiff.py (run by it, not by hand). As a script it reads a JSON job on
-- stdin and writes JSON on stdout; inside nginx (lua-nginx-module: the OpenResty transport,
-- cosockets) botodiff.py's location calls require("botodiff").run(job text) instead.
--   { mode = "validate", cases = { { op, input }, ... } }
--     -> per case { ok = true } or { error = message, path = err.path }: validate.input's verdict,
--        the check a client call runs before anything is sent.
--   { mode = "call", endpoint = URL, cases = { { op, input }, ... } }
--     -> per case { output = ... } or { error = { code, message, status, ... } }: a real client
--        (max_attempts 1) calling the server at URL, which answers each request in turn.
-- Outputs are written with their numbers exact (integers as integers, others with 17 digits); an
-- empty table is written {} (the Python side knows lists from the model).
local cjson = require("cjson")
local quote = require("gameliftstreams.core").json_quote

local function encode(v, out)
  local t = type(v)
  if t == "table" then
    if next(v) == nil then
      out[#out + 1] = "{}"
    elseif v[1] ~= nil then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = quote(k) .. ":"
        encode(v[k], out)
      end
      out[#out + 1] = "}"
    end
  elseif t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "number" then
    if math.type and math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = quote("<non-finite " .. tostring(v) .. ">")
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif v == nil then
    out[#out + 1] = "null"
  else
    out[#out + 1] = quote("<" .. t .. ">")
  end
end

local function to_json(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

local ERROR_FIELDS = { "code", "message", "status", "request_id", "retryable", "throttling", "fault",
                       "fields", "path", "code_from_status" }

local function run(text)
  local job = cjson.decode(text)
  local results = {}
  if job.mode == "validate" then
    local validate = require("gameliftstreams.validate")
    local model = require("gameliftstreams.model")
    for i, c in ipairs(job.cases) do
      local ok, err = validate.input(model, c.op, c.input)
      results[i] = ok and { ok = true } or { error = tostring(err and err.message), path = err and err.path }
    end
  elseif job.mode == "call" then
    local gls = require("gameliftstreams")
    local client = assert(gls.new{
      endpoint = job.endpoint, region = "us-west-2", max_attempts = 1,
      credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "botodiff-secret" },
      config_file = "/nonexistent/gls-config", credentials_file = "/nonexistent/gls-credentials",
      getenv = function() return nil end,
    })
    for i, c in ipairs(job.cases) do
      local out, err = client:call(c.op, c.input)
      if out then
        results[i] = { output = out }
      else
        local e = {}
        for _, k in ipairs(ERROR_FIELDS) do e[k] = err[k] end
        results[i] = { error = e }
      end
    end
  else
    error("unknown mode " .. tostring(job.mode))
  end
  local out = {}
  for i = 1, #results do out[i] = to_json(results[i]) end
  return "[" .. table.concat(out, ",") .. "]"
end

if ngx then return { run = run } end
io.write(run(io.read("a")))
