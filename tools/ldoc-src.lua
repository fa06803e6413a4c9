-- Writes to stdout the copy of a module that `make docs` gives LDoc: lines of dashes blanked
-- (LDoc takes them for empty doc comments) and `-- @module NAME` after the first comment.
--
--   lua5.4 tools/ldoc-src.lua NAME FILE > COPY
local name, path = arg[1], arg[2]
local first, done = true, false
for line in io.lines(path) do
  if line:match("^%-%-%-*%s*$") then line = "--" end
  if not done and not line:match("^%-%-") then
    if first then io.write("--- ", name, "\n") end
    io.write("-- @module ", name, "\n")
    done = true
  end
  first = false
  io.write(line, "\n")
end
