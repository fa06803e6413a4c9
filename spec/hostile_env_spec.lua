-- Hostile environments: the shared config and credentials files and the token files the
-- environment names may be anything a path can name. A FIFO must not block (open() and read()
-- would wait for a writer forever, in an nginx worker too), /dev/zero must not be read without
-- end, a directory, a symlink loop or a file larger than text.MAX_FILE_BYTES must not be read
-- at all, and odd content (CRLF, binary bytes, brackets in a profile name) must be parsed, not
-- raised on. Each case runs in a child Lua under `timeout` and a 2 GB address-space limit, so
-- a hang or an endless read fails the spec instead of stopping the suite.
local helpers = require("helpers")
local text = require("gameliftstreams.text")

local CHILD = [==[
local credentials = require("gameliftstreams.credentials")
local vars = { AWS_EC2_METADATA_DISABLED = "true" }
for i = 1, #arg, 2 do vars[arg[i]] = arg[i + 1] end
local profile = vars.PROFILE
vars.PROFILE = nil
local p = credentials.from_config{ profile = profile, sts_endpoint = "http://127.0.0.1:9",
  getenv = function(name) return vars[name] end }
local c, err = p:get()
if c then print("ok " .. c.access_key_id .. " " .. c.secret_access_key) else print("err " .. err.message) end
]==]

-- Runs the provider chain in a child with these environment variables (and PROFILE); returns
-- what it printed, and whether it ended by itself within 10 seconds.
local function chain(vars)
  local args = {}
  for k, v in pairs(vars) do args[#args + 1] = helpers.shell_quote(k) .. " " .. helpers.shell_quote(v) end
  local script = helpers.write_file(os.tmpname(), CHILD)
  -- (without LD_PRELOAD: under the ASan run the sanitizer would be preloaded, and its shadow
  -- memory does not fit the limit; the child loads the plain build)
  local out, ok = helpers.run("env -u LD_PRELOAD sh -c " .. helpers.shell_quote("ulimit -v 2000000; "
    .. helpers.lua_env() .. " exec timeout 10 lua5.4 " .. script .. " " .. table.concat(args, " ")))
  os.remove(script)
  return out, ok
end

describe("hostile environments", function()
  local dir, odd
  setup(function()
    dir = helpers.tmpdir()
    assert(os.execute("mkfifo " .. dir .. "/fifo"))
    assert(os.execute("mkdir " .. dir .. "/dir"))
    assert(os.execute("ln -s " .. dir .. "/loop-b " .. dir .. "/loop-a && ln -s " .. dir .. "/loop-a "
      .. dir .. "/loop-b"))
    -- past the limit, without writing it: a sparse file
    assert(os.execute("truncate -s " .. (text.MAX_FILE_BYTES + 1) .. " " .. dir .. "/huge"))
    odd = {
      ["a FIFO"] = dir .. "/fifo", ["/dev/zero"] = "/dev/zero", ["a directory"] = dir .. "/dir",
      ["a symlink loop"] = dir .. "/loop-a", ["a file over the limit"] = dir .. "/huge",
      ["a missing file"] = dir .. "/none",
    }
  end)
  teardown(function() helpers.rm_rf(dir) end)

  it("treats a config or credentials file that is not a readable regular file as absent, at once", function()
    local keys = helpers.write_file(dir .. "/credentials", "[p]\naws_access_key_id = AKIDFILE\n"
      .. "aws_secret_access_key = file-secret\n")
    for what, path in pairs(odd) do
      -- as the config file: the credentials file still gives the profile's keys
      local out, ok = chain{ PROFILE = "p", AWS_CONFIG_FILE = path, AWS_SHARED_CREDENTIALS_FILE = keys }
      assert.is_true(ok, what .. " as the config file: " .. out)
      assert.equal("ok AKIDFILE file-secret\n", out, what)
      -- as the credentials file: the profile named is found nowhere, and the error says so
      out, ok = chain{ PROFILE = "p", AWS_CONFIG_FILE = dir .. "/none", AWS_SHARED_CREDENTIALS_FILE = path }
      assert.is_true(ok, what .. " as the credentials file: " .. out)
      assert.matches('^err .*profile "p" not found', out, 1)
    end
  end)

  it("says why a web identity token file cannot be read, at once, and sends nothing", function()
    local why = { ["a FIFO"] = "not a regular file", ["/dev/zero"] = "not a regular file",
      ["a directory"] = "not a regular file", ["a symlink loop"] = "Too many levels of symbolic links",
      ["a file over the limit"] = "larger than " .. text.MAX_FILE_BYTES .. " bytes",
      ["a missing file"] = "No such file or directory" }
    for what, path in pairs(odd) do
      local out, ok = chain{ AWS_WEB_IDENTITY_TOKEN_FILE = path, AWS_ROLE_ARN = "arn:aws:iam::1:role/r",
                             AWS_CONFIG_FILE = dir .. "/none", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none" }
      assert.is_true(ok, what .. ": " .. out)
      assert.equal("err credentials: web identity provider: cannot read the token file " .. path .. ": "
        .. why[what] .. "\n", out, what)
    end
  end)

  it("reads no file that is not a regular file in the calling process either (text.read_file)", function()
    for what, path in pairs(odd) do
      if what ~= "a FIFO" and what ~= "/dev/zero" then -- (those are the child's: on failure they hang)
        local s, why = text.read_file(path)
        assert.is_nil(s, what)
        assert.is_string(why, what)
      end
    end
    assert.equal("[p]\n", text.read_file(helpers.write_file(dir .. "/small", "[p]\n")))
    assert.equal("", text.read_file(helpers.write_file(dir .. "/empty", "")))
  end)

  it("parses CRLF lines, binary bytes and brackets in a profile name without raising", function()
    local cfg = helpers.write_file(dir .. "/config", "\0\255\254garbage\r\n[profile a]b]\r\n"
      .. "region = us-west-2\r\n[\0]\r\n\255 = \0\r\n")
    local keys = helpers.write_file(dir .. "/keys", "[a]b]\r\naws_access_key_id = AKIDCRLF\r\n"
      .. "aws_secret_access_key = crlf-secret\r\n\r\n[\255\0]\r\nx=\0\r\n")
    local out, ok = chain{ PROFILE = "a]b", AWS_CONFIG_FILE = cfg, AWS_SHARED_CREDENTIALS_FILE = keys }
    assert.is_true(ok, out)
    assert.equal("ok AKIDCRLF crlf-secret\n", out)
  end)
end)
