-- The reference: `make docs` builds with LDoc and no warnings, every public function has a doc
-- comment, and docs/OPERATIONS.md (generated) states the model's facts for every operation.
local helpers = require("helpers")
local model = require("gameliftstreams.model")
local retry = require("gameliftstreams.retry")
local gen = dofile("tools/genmodel.lua")

local function read(path) return (assert(helpers.read_file(path), "cannot read " .. path)) end

-- The output and whether the command succeeded (LuaJIT's popen close does not tell).
local function run_rc(cmd)
  local out = helpers.run("(" .. cmd .. ") 2>&1; echo \"rc=$?\"")
  local body, rc = out:match("^(.-)rc=(%d+)\n?$")
  return body, rc == "0"
end

describe("make docs", function()
  it("builds the reference with LDoc, with no warning and no undocumented public function", function()
    if os.getenv("GLS_SANITIZED") then return end -- nothing of it is C
    local dir = helpers.tmpdir()
    finally(function() helpers.rm_rf(dir) end)
    local out, ok = run_rc("sh tools/docs.sh " .. helpers.shell_quote(dir .. "/docs"))
    assert.is_true(ok, out)
    assert.are.equal("docs: " .. dir .. "/docs/index.html\n", out)
    for _, m in ipairs({ "gameliftstreams", "gameliftstreams.client", "gameliftstreams.errors",
                         "gameliftstreams.sched", "gameliftstreams.waiters", "gameliftstreams.paginate",
                         "gameliftstreams.sessions" }) do
      assert.truthy(helpers.read_file(dir .. "/docs/modules/" .. m .. ".html"), m)
    end
    local ops = read(dir .. "/docs/topics/OPERATIONS.md.html")
    assert.truthy(ops:find("<table", 1, true))
    assert.truthy(ops:find("StartStreamSession", 1, true))
    local init = read(dir .. "/docs/modules/gameliftstreams.html")
    for _, f in ipairs({ "new", "spawn", "run", "step" }) do assert.truthy(init:find(f, 1, true), f) end
  end)

  it("the check can fail: an undocumented public function is named", function()
    local dir = helpers.tmpdir()
    finally(function() helpers.rm_rf(dir) end)
    helpers.write_file(dir .. "/m.lua", table.concat({
      "local _M = {}", "", "--- Documented.", "function _M.a() end", "",
      "-- a plain comment is not a doc comment", "function _M.b() end", "",
      "function _M._private() end", "local function c() end", "return _M", "" }, "\n"))
    local out, ok = run_rc("lua5.4 tools/doccheck.lua " .. helpers.shell_quote(dir .. "/m.lua"))
    assert.is_false(ok)
    assert.are.equal(dir .. "/m.lua:7: undocumented public function _M.b\n", out)
  end)
end)

describe("docs/OPERATIONS.md", function()
  local text = read("docs/OPERATIONS.md")
  local sections = {}
  do -- "## Name" starts an operation's section, "# Structures" ends them
    local current
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      local name = line:match("^## (%w+)$")
      if name then current = {} ; sections[name] = current
      elseif line:match("^# ") then current = nil
      elseif current then current[#current + 1] = line end
    end
    for name, lines in pairs(sections) do sections[name] = table.concat(lines, "\n") .. "\n" end
  end

  it("is generated from the model and up to date", function()
    local fresh = gen.render_reference(gen.build("model/botocore", dofile("tools/partitions.lua")))
    assert.is_true(fresh == text, "docs/OPERATIONS.md is stale: run `make model` and commit it")
  end)

  it("has a section per operation with its method, HTTP method and path and success status", function()
    local n = 0
    for name, op in pairs(model.operations) do
      n = n + 1
      local s = assert(sections[name], name)
      assert.truthy(s:find("`client:" .. op.snake .. "(input)`", 1, true), name)
      assert.truthy(s:find("`" .. op.method .. " " .. op.uri .. "`, success status " .. op.success, 1, true), name)
    end
    assert.are.equal(30, n)
  end)

  it("lists every input member with its type, whether required, and where it is sent", function()
    for name, op in pairs(model.operations) do
      local s = sections[name]
      local input = s:match("### Input\n\n(.-)\n### Output")
      local shape = model.shapes[op.input]
      local rows = 0
      for _ in input:gmatch("\n| `") do rows = rows + 1 end
      assert.are.equal(#shape.order, rows, name)
      for _, m in ipairs(shape.order) do
        local mem = shape.members[m]
        local row = input:match("\n| `" .. m .. "` |([^\n]*)")
        assert.truthy(row, name .. "." .. m)
        local where = mem.location == "uri" and "path `{" .. mem.name .. "}`"
          or mem.location == "querystring" and "query `" .. mem.name .. "`" or "body"
        assert.truthy(row:find("| " .. where .. " |", 1, true), name .. "." .. m .. ": " .. row)
        local required = shape.required[m] and not mem.idempotency_token
        assert.truthy(row:find(required and "| yes |" or "| no", 1, true), name .. "." .. m)
        local ms = model.shapes[mem.shape]
        for _, v in ipairs(ms.enum or {}) do assert.truthy(row:find("`" .. v .. "`", 1, true), v) end
        if ms.max then assert.truthy(row:find(tostring(ms.max), 1, true), name .. "." .. m .. " max") end
      end
    end
  end)

  it("lists the errors of each operation, retried exactly as the retry strategy retries them", function()
    for name, op in pairs(model.operations) do
      local errs = sections[name]:match("### Errors\n\n(.-)\n### Paginator")
      for _, e in ipairs(op.errors) do
        local info = model.errors[e]
        local row = errs:match("\n| `" .. e .. "` |([^\n]*)")
        assert.truthy(row, name .. ": " .. e)
        local classified = retry.classify{ code = e, status = info.status, throttling = info.throttling,
                                           retryable = info.retryable }
        assert.are.equal(classified ~= nil, row:find("| yes", 1, true) ~= nil, name .. ": " .. e)
      end
    end
  end)

  it("names the paginator and the waiters of an operation", function()
    for name in pairs(model.paginators) do
      assert.truthy(sections[name]:match("### Paginator\n\n`client:pages"), name)
    end
    for _, w in pairs(model.waiters) do
      assert.truthy(sections[w.operation]:find('`client:wait("' .. w.snake .. '"', 1, true), w.snake)
    end
    assert.truthy(sections.GetStreamGroup:find("### Paginator\n\nnone", 1, true))
  end)
end)
