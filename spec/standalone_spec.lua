-- The repository stands alone: nothing it builds, generates or tests reads files beside the
-- checkout. Every tracked file but prose (*.md) is searched for the path of the old shared
-- folder; the tracked list is `git ls-files`, or a walk of the tree outside a git checkout.
local helpers = require("helpers")

local FORBIDDEN = ".." .. "/shared" -- spelled in two parts, so this file does not match itself

local function tracked_files(root)
  local q = helpers.shell_quote(root)
  -- the exit status, as a suffix: LuaJIT's popen close does not give it
  local p = io.popen("(git -C " .. q .. " ls-files -z && printf OK) 2>/dev/null")
  local out = p:read("*a")
  p:close()
  local files = {}
  if out:sub(-2) == "OK" then
    for name in out:sub(1, -3):gmatch("([^%z]+)") do files[#files + 1] = name end
    return files, "git ls-files"
  end
  out = helpers.run("cd " .. q .. " && find . -path ./.git -prune -o -path ./build -prune -o -type f -print")
  for name in out:gmatch("[^\n]+") do files[#files + 1] = (name:gsub("^%./", "")) end
  return files, "a walk of the tree"
end

local function offenders(root)
  local files, how = tracked_files(root)
  local bad = {}
  for _, name in ipairs(files) do
    if not name:match("%.md$") then
      local text = helpers.read_file(root .. "/" .. name)
      if text and text:find(FORBIDDEN, 1, true) then bad[#bad + 1] = name end
    end
  end
  table.sort(bad)
  return bad, files, how
end

describe("the repository stands alone", function()
  it("no tracked file except prose mentions the shared folder beside the checkout", function()
    local bad, files, how = offenders(helpers.root)
    assert.is_true(#files > 100, "found only " .. #files .. " files by " .. how)
    assert.are.same({}, bad)
  end)

  it("the check finds a mention, in a git checkout and in a plain tree", function()
    local dir = helpers.tmpdir()
    helpers.write_file(dir .. "/a.lua", 'local P = "' .. FORBIDDEN .. '/model"\n')
    helpers.write_file(dir .. "/notes.md", "Once read " .. FORBIDDEN .. ".\n")
    helpers.write_file(dir .. "/b.c", "int b;\n")
    local bad, files, how = offenders(dir)
    assert.are.equal("a walk of the tree", how)
    assert.are.same({ "a.lua" }, bad)
    assert.are.equal(3, #files)
    local _, has_git = helpers.run("command -v git")
    if not has_git then helpers.rm_rf(dir); return end -- a tree without git: the walk was checked
    local _, ok = helpers.run("cd " .. helpers.shell_quote(dir) .. " && git init -q . && git add a.lua b.c")
    assert.is_true(ok)
    bad, files, how = offenders(dir)
    assert.are.equal("git ls-files", how)
    assert.are.same({ "a.lua" }, bad)
    assert.are.equal(2, #files)
    helpers.rm_rf(dir)
  end)

  it("carries the model, the SigV4 suite and the notice of where they come from", function()
    for _, f in ipairs({ "model/botocore/service-2.json", "model/botocore/paginators-1.json",
                         "model/botocore/waiters-2.json", "model/botocore/endpoint-rule-set-1.json",
                         "model/botocore/endpoint-tests-1.json", "model/gameliftstreams.smithy.json",
                         "model/SOURCES.md", "spec/data/SOURCES.md", "NOTICE" }) do
      assert.truthy(helpers.read_file(helpers.root .. "/" .. f), f .. " is missing")
    end
    local notice = helpers.read_file(helpers.root .. "/NOTICE")
    assert.truthy(notice:find("model/", 1, true))
    assert.truthy(notice:find("spec/data/sigv4/", 1, true))
    assert.truthy(notice:find("Apache License", 1, true))
  end)
end)
