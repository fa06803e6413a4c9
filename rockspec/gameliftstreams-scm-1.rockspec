rockspec_format = "3.0"
package = "gameliftstreams"
version = "scm-1"

source = {
  url = "git+https://github.com/gameliftstreams/gameliftstreams-lua.git",
  branch = "main",
}

description = {
  summary = "Amazon GameLift Streams SDK for Lua, with a C core (SigV4, libcurl)",
  detailed = [[
All GameLift Streams operations generated from the official service model,
SigV4 signing in C, connection reuse through libcurl, paginators, waiters,
retries and the AWS credential provider chain. Runs in plain Lua 5.4 scripts,
inside coroutine-driven game loops, and in OpenResty (LuaJIT) without blocking.
Ships a local GameLift Streams emulator for development without AWS.
]],
  license = "Apache-2.0",
  labels = { "aws", "gamelift", "sigv4", "openresty" },
}

-- Lua 5.2 to 5.4, or LuaJIT 2.1 (the "5.1" LuaRocks tree with LuaJIT's headers). PUC Lua 5.1
-- is refused at build time (csrc/compat.h says so): it lacks the C API the core uses.
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson >= 2.1.0",
  "luasocket >= 3.0",  -- the gameliftstreams-emulator command the rock installs (not the library)
}

external_dependencies = {
  -- only the library: Debian keeps curl.h under a multiarch include dir LuaRocks does not search
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
}

build = {
  type = "builtin",
  modules = {
    ["gameliftstreams.core"] = {
      sources = {
        "csrc/core.c", "csrc/util.c", "csrc/rand.c", "csrc/buf.c", "csrc/codec.c",
        "csrc/sigv4.c", "csrc/lsigv4.c",
        "csrc/http.c", "csrc/h1.c", "csrc/lhttp.c",
        "csrc/paginator.c", "csrc/lpaginator.c",
        "csrc/lprocess.c",
        "csrc/json.c", "csrc/ljson.c",
      },
      defines = { "_POSIX_C_SOURCE=200809L" },
      incdirs = { "csrc", "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      libraries = { "curl", "crypto" },
    },
    ["gameliftstreams"] = "lua/gameliftstreams/init.lua",
    ["gameliftstreams.client"] = "lua/gameliftstreams/client.lua",
    ["gameliftstreams.config"] = "lua/gameliftstreams/config.lua",
    ["gameliftstreams.credentials"] = "lua/gameliftstreams/credentials/init.lua",
    ["gameliftstreams.credentials.assume_role"] = "lua/gameliftstreams/credentials/assume_role.lua",
    ["gameliftstreams.credentials.base"] = "lua/gameliftstreams/credentials/base.lua",
    ["gameliftstreams.credentials.container"] = "lua/gameliftstreams/credentials/container.lua",
    ["gameliftstreams.credentials.environment"] = "lua/gameliftstreams/credentials/environment.lua",
    ["gameliftstreams.credentials.imds"] = "lua/gameliftstreams/credentials/imds.lua",
    ["gameliftstreams.credentials.process"] = "lua/gameliftstreams/credentials/process.lua",
    ["gameliftstreams.credentials.profile"] = "lua/gameliftstreams/credentials/profile.lua",
    ["gameliftstreams.credentials.refreshing"] = "lua/gameliftstreams/credentials/refreshing.lua",
    ["gameliftstreams.credentials.sso"] = "lua/gameliftstreams/credentials/sso.lua",
    ["gameliftstreams.credentials.static"] = "lua/gameliftstreams/credentials/static.lua",
    ["gameliftstreams.credentials.sts"] = "lua/gameliftstreams/credentials/sts.lua",
    ["gameliftstreams.credentials.web_identity"] = "lua/gameliftstreams/credentials/web_identity.lua",
    ["gameliftstreams.endpoints"] = "lua/gameliftstreams/endpoints.lua",
    ["gameliftstreams.errors"] = "lua/gameliftstreams/errors.lua",
    ["gameliftstreams.hooks"] = "lua/gameliftstreams/hooks.lua",
    ["gameliftstreams.model"] = "lua/gameliftstreams/model.lua",
    ["gameliftstreams.ngx_http"] = "lua/gameliftstreams/ngx_http.lua",
    ["gameliftstreams.options"] = "lua/gameliftstreams/options.lua",
    ["gameliftstreams.paginate"] = "lua/gameliftstreams/paginate.lua",
    ["gameliftstreams.pipeline"] = "lua/gameliftstreams/pipeline.lua",
    ["gameliftstreams.protocol"] = "lua/gameliftstreams/protocol.lua",
    ["gameliftstreams.protocol.request"] = "lua/gameliftstreams/protocol/request.lua",
    ["gameliftstreams.protocol.response"] = "lua/gameliftstreams/protocol/response.lua",
    ["gameliftstreams.retry"] = "lua/gameliftstreams/retry.lua",
    ["gameliftstreams.sched"] = "lua/gameliftstreams/sched.lua",
    ["gameliftstreams.sched.curl"] = "lua/gameliftstreams/sched/curl.lua",
    ["gameliftstreams.sched.ngx"] = "lua/gameliftstreams/sched/ngx.lua",
    ["gameliftstreams.shared_cache"] = "lua/gameliftstreams/shared_cache.lua",
    ["gameliftstreams.sessions"] = "lua/gameliftstreams/sessions.lua",
    ["gameliftstreams.signer"] = "lua/gameliftstreams/signer.lua",
    ["gameliftstreams.text"] = "lua/gameliftstreams/text.lua",
    ["gameliftstreams.validate"] = "lua/gameliftstreams/validate.lua",
    ["gameliftstreams.waiters"] = "lua/gameliftstreams/waiters.lua",
    ["gameliftstreams.emulator.auth"] = "lua/gameliftstreams/emulator/auth.lua",
    ["gameliftstreams.emulator.cli"] = "lua/gameliftstreams/emulator/cli.lua",
    ["gameliftstreams.emulator.common"] = "lua/gameliftstreams/emulator/common.lua",
    ["gameliftstreams.emulator.control"] = "lua/gameliftstreams/emulator/control.lua",
    ["gameliftstreams.emulator.faults"] = "lua/gameliftstreams/emulator/faults.lua",
    ["gameliftstreams.emulator.http1"] = "lua/gameliftstreams/emulator/http1.lua",
    ["gameliftstreams.emulator.httpd"] = "lua/gameliftstreams/emulator/httpd.lua",
    ["gameliftstreams.emulator.input"] = "lua/gameliftstreams/emulator/input.lua",
    ["gameliftstreams.emulator.json"] = "lua/gameliftstreams/emulator/json.lua",
    ["gameliftstreams.emulator.limits"] = "lua/gameliftstreams/emulator/limits.lua",
    ["gameliftstreams.emulator.ops"] = "lua/gameliftstreams/emulator/ops.lua",
    ["gameliftstreams.emulator.requestlog"] = "lua/gameliftstreams/emulator/requestlog.lua",
    ["gameliftstreams.emulator.schema"] = "lua/gameliftstreams/emulator/schema.lua",
    ["gameliftstreams.emulator.server"] = "lua/gameliftstreams/emulator/server.lua",
    ["gameliftstreams.emulator.state"] = "lua/gameliftstreams/emulator/state.lua",
    ["gameliftstreams.emulator.resources.applications"] = "lua/gameliftstreams/emulator/resources/applications.lua",
    ["gameliftstreams.emulator.resources.stream_groups"] = "lua/gameliftstreams/emulator/resources/stream_groups.lua",
    ["gameliftstreams.emulator.resources.stream_sessions"] = "lua/gameliftstreams/emulator/resources/stream_sessions.lua",
    ["gameliftstreams.emulator.resources.stream_urls"] = "lua/gameliftstreams/emulator/resources/stream_urls.lua",
    ["gameliftstreams.emulator.resources.tags"] = "lua/gameliftstreams/emulator/resources/tags.lua",
  },
  install = {
    bin = { ["gameliftstreams-emulator"] = "bin/gameliftstreams-emulator" },
  },
  -- the LuaLS annotations (types/*.lua, ---@meta) into the rock's folder, for editors:
  -- `luarocks show --rock-dir gameliftstreams` prints it (README: Editor types)
  copy_directories = { "types" },
}

-- `luarocks test`: the busted suite (it needs the C module built in build/, hence make all)
test = {
  type = "command",
  command = "make --no-print-directory all >/dev/null && busted --run=default",
}
