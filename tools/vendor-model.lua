-- Vendors the service model into model/: copies the upstream files with every documentation
-- text removed, and writes model/SOURCES.md (origin, version and sha256 of each UPSTREAM file).
--
--   lua5.4 tools/vendor-model.lua UPSTREAM_DIR [OUT_DIR]
--
-- UPSTREAM_DIR holds botocore/{service-2,paginators-1,waiters-2,endpoint-rule-set-1,
-- endpoint-tests-1}.json and gameliftstreams.smithy.json, as published (see ORIGINS below).
-- OUT_DIR defaults to model/. Removed: every object member named documentation,
-- documentationUrl, externalDocumentation, relativeDocumentation or smithy.api#documentation
-- whose value is a string (prose or a link to prose); nothing else changes. Scalars are written
-- as the upstream file spells them (numbers and string escapes unchanged), key order is kept,
-- and the layout is fixed (two-space indent), so the output depends only on the input.
-- After vendoring, run `make model` and check that lua/gameliftstreams/model.lua is unchanged.

local concat, format = table.concat, string.format

local ORIGINS = {
  { file = "botocore/service-2.json",
    source = "boto/botocore `botocore/data/gameliftstreams/2018-05-10/`",
    version = "last change 67b31854ebe75eda6edf6d1161a8927d10246f3e, 2026-07-29 (30 operations)" },
  { file = "botocore/paginators-1.json", source = "same", version = "same" },
  { file = "botocore/waiters-2.json", source = "same", version = "last change 2025-03-05" },
  { file = "botocore/endpoint-rule-set-1.json", source = "same", version = "last change 2025-10-17" },
  { file = "botocore/endpoint-tests-1.json",
    source = "boto/botocore `tests/functional/endpoint-rules/gameliftstreams/`",
    version = "botocore snapshot 2026-08-07" },
  { file = "gameliftstreams.smithy.json",
    source = "aws/api-models-aws `models/gameliftstreams/service/2018-05-10/gameliftstreams-2018-05-10.json`",
    version = "release commit 5b9627844475df0b85d8402e7c011f5085ed74a0, 2026-04-27 (24 operations)" },
}

local DROP = {
  ['"documentation"'] = true, ['"documentationUrl"'] = true, ['"externalDocumentation"'] = true,
  ['"relativeDocumentation"'] = true, ['"smithy.api#documentation"'] = true,
}

-- A JSON reader that keeps every scalar as its source text: { obj = {{key, value}, ...} },
-- { arr = {value, ...} }, or { raw = "text", str = true|nil }.
local function parse(s, name)
  local pos = 1
  local function fail(msg) error(format("%s: %s at byte %d", name, msg, pos), 0) end
  local function skip() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local i = pos + 1
    while true do
      local a = s:find('["\\]', i)
      if not a then fail("unterminated string") end
      if s:sub(a, a) == '"' then
        local raw = s:sub(pos, a)
        if raw:find("%c") then fail("control character in string") end
        pos = a + 1
        return { raw = raw, str = true }
      end
      i = a + 2
    end
  end
  value = function()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local members = {}
      pos = pos + 1; skip()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return { obj = members } end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then fail("expected a key") end
        local k = str().raw
        skip()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        members[#members + 1] = { k, value() }
        skip()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return { obj = members } end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local items = {}
      pos = pos + 1; skip()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return { arr = items } end
      while true do
        items[#items + 1] = value()
        skip()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return { arr = items } end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    else
      local a, b = s:find("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if a then pos = b + 1; return { raw = s:sub(a, b) } end
      for _, lit in ipairs({ "true", "false", "null" }) do
        if s:sub(pos, pos + #lit - 1) == lit then pos = pos + #lit; return { raw = lit } end
      end
      fail("unexpected character")
    end
  end
  local v = value()
  skip()
  if pos <= #s then fail("trailing text") end
  return v
end

local dropped = 0

local function strip(v)
  if v.obj then
    local kept = {}
    for _, kv in ipairs(v.obj) do
      if DROP[kv[1]] and kv[2].str then
        dropped = dropped + 1
      else
        kept[#kept + 1] = { kv[1], strip(kv[2]) }
      end
    end
    return { obj = kept }
  elseif v.arr then
    local items = {}
    for i, x in ipairs(v.arr) do items[i] = strip(x) end
    return { arr = items }
  end
  return v
end

local function write(v, indent, out)
  if v.raw then out[#out + 1] = v.raw; return end
  local inner = indent .. "  "
  if v.obj then
    if #v.obj == 0 then out[#out + 1] = "{}"; return end
    out[#out + 1] = "{\n"
    for i, kv in ipairs(v.obj) do
      out[#out + 1] = inner .. kv[1] .. ":"
      write(kv[2], inner, out)
      out[#out + 1] = i < #v.obj and ",\n" or "\n"
    end
    out[#out + 1] = indent .. "}"
    return
  end
  if #v.arr == 0 then out[#out + 1] = "[]"; return end
  local flat = true
  for _, x in ipairs(v.arr) do if not x.raw then flat = false end end
  if flat then -- a list of scalars on one line
    local parts = {}
    for i, x in ipairs(v.arr) do parts[i] = x.raw end
    out[#out + 1] = "[" .. concat(parts, ",") .. "]"
    return
  end
  out[#out + 1] = "[\n"
  for i, x in ipairs(v.arr) do
    out[#out + 1] = inner
    write(x, inner, out)
    out[#out + 1] = i < #v.arr and ",\n" or "\n"
  end
  out[#out + 1] = indent .. "]"
end

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then error("vendor-model: " .. tostring(err), 0) end
  local s = f:read("*a")
  f:close()
  return s
end

local function sha256(path)
  local p = assert(io.popen("sha256sum < '" .. path:gsub("'", "'\\''") .. "'"))
  local hex = p:read("*l")
  p:close()
  hex = hex and hex:match("^(%x+)")
  if not hex or #hex ~= 64 then error("vendor-model: sha256sum failed on " .. path, 0) end
  return hex
end

local function main(src, out)
  if not src then
    io.stderr:write("usage: lua5.4 tools/vendor-model.lua UPSTREAM_DIR [OUT_DIR]\n")
    os.exit(2)
  end
  out = out or "model"
  os.execute("mkdir -p '" .. out:gsub("'", "'\\''") .. "/botocore'")
  local rows = {}
  for _, o in ipairs(ORIGINS) do
    local path = src .. "/" .. o.file
    dropped = 0
    local tree = strip(parse(read(path), path))
    local buf = {}
    write(tree, "", buf)
    buf[#buf + 1] = "\n"
    local f = assert(io.open(out .. "/" .. o.file, "wb"))
    f:write(concat(buf))
    f:close()
    rows[#rows + 1] = format("| `%s` | %s | %s | %d | `%s` |", o.file, o.source, o.version, dropped,
                             sha256(path))
  end
  local f = assert(io.open(out .. "/SOURCES.md", "wb"))
  f:write(concat({
    "# Where the model files come from",
    "",
    "WRITTEN by `tools/vendor-model.lua`: do not edit by hand.",
    "",
    "Each file is the upstream file with its documentation texts removed (object members",
    "`documentation`, `documentationUrl`, `externalDocumentation`, `relativeDocumentation` and",
    "`smithy.api#documentation` with a string value) and re-indented; every other value is as",
    "upstream wrote it. The sha256 is of the UPSTREAM file, so a copy of it can be checked",
    "against this table. Licence: Apache License 2.0 (botocore: Copyright Amazon.com, Inc. or",
    "its affiliates; the Smithy model likewise), see `../NOTICE`.",
    "",
    "| file | source | version | texts removed | sha256 of the upstream file |",
    "| --- | --- | --- | --- | --- |",
    concat(rows, "\n"),
    "",
    "The Smithy file is older than the botocore files (it lacks the 2026-07 operations); the",
    "generator takes only waiter delays and anchored patterns from it. The botocore files are",
    "the model: `make model` generates `lua/gameliftstreams/model.lua` from them.",
    "",
  }, "\n"))
  f:close()
end

main(...)
