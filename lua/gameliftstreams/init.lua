--- gameliftstreams: a Lua SDK for the Amazon GameLift Streams API.
-- `gls.new(opts)` makes a client; `gls.sign` is the standalone SigV4 signer;
-- `gls.spawn/run/step` drive the SDK's scheduler; `gls.errors` is the error module.
local errors = require("gameliftstreams.errors")
local client = require("gameliftstreams.client")
local signer = require("gameliftstreams.signer")

local _M = { _VERSION = client._VERSION }

--- Makes a client (no I/O: the profile, credentials and connections are used on
-- the first call). See DESIGN.md for the options.
-- @return client, or nil and an error object (InvalidParameter, EndpointError)
function _M.new(opts)
  return client.new(opts)
end

--- The standalone SigV4 signer: core.sign, or the same signer through the FFI under LuaJIT.
_M.sign = signer.sign

--- Starts `fn(...)` as a task of the SDK's scheduler.
function _M.spawn(fn, ...)
  return require("gameliftstreams.sched").spawn(fn, ...)
end

--- Runs the scheduler until every task has finished.
function _M.run(...)
  return require("gameliftstreams.sched").run(...)
end

--- Advances every task without blocking longer than `max_seconds`.
function _M.step(...)
  return require("gameliftstreams.sched").step(...)
end

_M.errors = errors

-- `gls.list_stream_groups{...}` or `gls:call(...)`: the operations, call, pages, items, wait, ...
-- are the client's. Say so where it happens, rather than "attempt to call a nil value".
setmetatable(_M, { __index = function(_, k)
  if type(k) ~= "string" or k:sub(1, 1) == "_" then return nil end
  local op = client.operation_name(k)
  local method = op and require("gameliftstreams.model").operations[op].snake
    or (type(client.Client[k]) == "function" and k)
  if method then
    error("gameliftstreams." .. k .. " is a client method: make a client with gls.new{...}, then call client:"
      .. method .. "(...)", 2)
  end
end })

return _M
