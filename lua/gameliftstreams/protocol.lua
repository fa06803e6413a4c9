--- restJson1: build an HTTP request from an operation input, and turn an HTTP
-- response into an output table or an error object.
-- Serialisation is driven by the model's shapes (lua-cjson 2.1.0 cannot tell
-- `[]` from `{}` and prints integers as `7.0`); parsing decodes the JSON text in
-- C straight into the output shape, checking the model's types on the way
-- (core.json_plan, csrc/ljson.c).
--
-- Parsing choices (documented for users in the README of the project):
-- * unknown members are dropped (as the official SDKs do); unknown enum values
--   are passed through as strings;
-- * JSON null means absent;
-- * integer/long members are Lua integers under Lua 5.4 (plain numbers under
--   LuaJIT); timestamps are numbers of epoch seconds (integers when whole);
-- * an error response without any error code (e.g. an HTML page from a proxy)
--   gets the code "HTTP<status>", e.g. "HTTP503".
--
-- This module is the one name the SDK uses; the work is in two files, by direction:
-- protocol/request.lua (building) and protocol/response.lua (parsing).
local _M = {}
for _, name in ipairs{ "gameliftstreams.protocol.request", "gameliftstreams.protocol.response" } do
  for k, v in pairs(require(name)) do _M[k] = v end
end

return _M
