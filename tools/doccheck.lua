-- Warns about every public function of the given modules that has no doc comment ("---"
-- block right above it). Public: `function T.name(` or `function T:name(` at the start of a
-- line, with a name not starting with "_". Prints "file:line: undocumented public function
-- T.name" per finding and exits 1 if there was any. Runs under Lua 5.1 to 5.4 and LuaJIT.
--
--   lua5.4 tools/doccheck.lua FILE...
local found = 0
for _, path in ipairs(arg) do
  local f = assert(io.open(path, "rb"))
  local lines = {}
  for line in f:lines() do lines[#lines + 1] = line end
  f:close()
  for i, line in ipairs(lines) do
    local t, sep, name = line:match("^function ([%w_]+)([%.:])([%w_]+)%s*%(")
    if name and name:sub(1, 1) ~= "_" then
      -- walk up the comment block above the function: it must start with "---"
      local j, doc = i - 1, false
      while j >= 1 and lines[j]:match("^%-%-") do
        if lines[j]:match("^%-%-%-[^%-]") or lines[j] == "---" then doc = true end
        j = j - 1
      end
      if not doc then
        found = found + 1
        io.stdout:write(string.format("%s:%d: undocumented public function %s%s%s\n", path, i, t, sep, name))
      end
    end
  end
end
os.exit(found == 0 and 0 or 1)
