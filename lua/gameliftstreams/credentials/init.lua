--- Credential providers and the default provider chain.
--
-- `credentials.from_config(opts)` (opts = the gls.new table) returns a provider: an object
-- with `get()` -> creds | nil, err, where creds = { access_key_id, secret_access_key,
-- session_token, expiration (epoch seconds or nil), provider (name) }.
-- Creating providers does no I/O: files, environment, processes and endpoints are read in get().
--
-- Chain order (as the AWS SDKs and Tools reference guide lists it):
--   1. explicit: opts.credentials (a table of keys, or any object with :get())
--   2. environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
--      (skipped when opts.profile is given, as botocore does for an explicit profile)
--   3. web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, unless
--      the profile assumes a role from source_profile or credential_source (then 4 first)
--   4. the profile (opts.profile, AWS_DEFAULT_PROFILE, AWS_PROFILE, "default") in the shared files:
--      role_arn (+ source_profile | credential_source | web_identity_token_file),
--      then static keys, then credential_process, then IAM Identity Center (sso_session or
--      the legacy sso_start_url: the CLI's cached token, refreshed, traded for role credentials)
--   5. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI
--   6. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true
-- A provider that is not configured passes to the next; one that is configured and fails
-- stops the chain with its CredentialsError. When nothing is configured the error lists
-- what was tried. The first provider that answers is kept for later calls.
--
-- Temporary credentials are cached and refreshed `refresh_window` seconds (default 300)
-- before they expire; a failed refresh keeps the old ones while they are valid; concurrent
-- sched tasks share one fetch. Error messages never contain secrets or tokens.
--
-- credential_process: inside a task or OpenResty (sched.can_yield) the command's output is
-- read without blocking (core.spawn_shell, polled between sched.sleep calls), so the game
-- loop or the nginx worker goes on meanwhile; elsewhere io.popen blocks, as in every SDK.
-- Everything else waits through the sched seam (sched.http / sched.sleep).
--
-- Test and tuning knobs in opts: getenv, clock (epoch seconds), refresh_window,
-- fetch_wait (seconds a task waits for another task's fetch, default 30), sts_endpoint,
-- imds_endpoint, container_endpoint (base for the relative URI), config_file,
-- credentials_file, sso_cache_dir (default ~/.aws/sso/cache), rng and sts_retry_base (STS,
-- SSO and SSO OIDC back-off), sts_timeout (also SSO), imds_timeout,
-- http (a transport: req -> resp | nil, err), mfa_code_provider (serial -> 6-digit code string,
-- asked on each AssumeRole of a profile with mfa_serial).
--
-- Layout: credentials/base.lua (what the providers share), one file per provider (static,
-- environment, process, sts + assume_role + web_identity, container, imds, sso, profile),
-- refreshing.lua (the cache), and the chain here.
local B = require("gameliftstreams.credentials.base")
for _, name in ipairs{ "refreshing", "static", "environment", "process", "sts", "assume_role",
                       "web_identity", "container", "imds", "sso", "profile" } do
  require("gameliftstreams.credentials." .. name)
end
local _M = B.M
local errors = B.errors
local type, ipairs = type, ipairs
local concat = table.concat
local fail = B.fail

------------------------------------------------------------------------------
-- The chain

--- A provider that asks `providers` in order (see the module comment).
function _M.chain(providers)
  local c = { name = "chain", providers = providers }
  function c.get(self)
    if self.selected then return self.selected:get() end
    local tried = {}
    for _, p in ipairs(self.providers) do
      local creds, err = p:get()
      if creds then
        self.selected = p
        return creds
      end
      if not (errors.is(err) and err.not_found) then
        return nil, err or fail(p.name or "custom", "returned no credentials")
      end
      tried[#tried + 1] = err.tried or p.name
    end
    return nil, errors.new{ code = "CredentialsError", retryable = false,
      message = "credentials: none found (tried: " .. concat(tried, ", ") .. ")" }
  end
  return c
end

--- The provider for a client: explicit credentials, or the default chain.
-- Returns provider, or nil and an InvalidParameter error for malformed opts.credentials.
function _M.from_config(opts)
  opts = opts or {}
  local c = opts.credentials
  if c ~= nil then
    if type(c) == "table" and type(c.get) == "function" then return c end
    local p, err = _M.static(c, "explicit")
    if not p then return nil, err end
    return p
  end
  local list = {}
  if opts.profile == nil then list[#list + 1] = _M.environment(opts) end
  list[#list + 1] = _M.web_identity_env(opts)
  list[#list + 1] = _M.profile(opts)
  list[#list + 1] = _M.container(opts)
  list[#list + 1] = _M.imds(opts)
  return _M.chain(list)
end

return _M
