--- SigV4 verification for the emulator: re-sign the received request with core.sign
-- (the signing time from x-amz-date, the scope and signed headers from Authorization,
-- the secret we know) and compare signatures in constant time.
local _M = {}

local SERVICE = "gameliftstreams"
local MAX_SKEW = 300

local function err(status, code, message, extra)
  local e = { status = status, code = code, message = message }
  for k, v in pairs(extra or {}) do e[k] = v end
  return nil, e
end

--- Epoch seconds of a UTC civil time (no os.time: it is local time).
local function epoch(y, mo, d, h, mi, s)
  y = (mo <= 2) and (y - 1) or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + h * 3600 + mi * 60 + s
end
_M.epoch = epoch

--- Parses an ISO-8601 basic timestamp (20260101T000000Z) to epoch seconds.
function _M.parse_amz_date(s)
  local y, mo, d, h, mi, sec = (s or ""):match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  return epoch(y, mo, d, h, mi, sec)
end

function _M.amz_date(t)
  return os.date("!%Y%m%dT%H%M%SZ", math.floor(t))
end

function _M.http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(t))
end

--- Compares two strings without stopping at the first difference.
function _M.constant_eq(a, b)
  if type(a) ~= "string" or type(b) ~= "string" then return false end
  local diff = (#a == #b) and 0 or 1
  for i = 1, math.max(#a, #b) do
    if (a:byte(i) or 0) ~= (b:byte(i) or 256) then diff = diff + 1 end
  end
  return diff == 0
end

--- Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
function _M.parse_authorization(h)
  local alg, rest = h:match("^(%S+)%s+(.*)$")
  if not alg then return nil end
  local fields = {}
  for k, v in rest:gmatch("([%w%-]+)=([^,%s]*)") do fields[k] = v end
  return { algorithm = alg, credential = fields.Credential, signed_headers = fields.SignedHeaders,
           signature = fields.Signature }
end

--- Verifies a request. opts: credentials (access key -> { secret =, session_token = }),
-- now (emulator wall clock), sign (core.sign). Returns info or nil, err where err has
-- status, code, message (and date, the emulator time, for expired requests).
function _M.verify(req, opts)
  local h = req.headers
  local authz = h["authorization"]
  local a, presign, query
  if authz then
    a = _M.parse_authorization(authz)
    if not a or a.algorithm ~= "AWS4-HMAC-SHA256" then
      return err(400, "IncompleteSignatureException", "Unsupported Authorization algorithm; expected AWS4-HMAC-SHA256")
    end
    if not (a.credential and a.signed_headers and a.signature) then
      return err(400, "IncompleteSignatureException",
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters")
    end
  elseif req.query:find("X-Amz-Signature=", 1, true) then
    -- presigned: the X-Amz-* parameters carry what the header would
    local p, rest = {}, {}
    for pair in req.query:gmatch("[^&]+") do
      local k, v = pair:match("^([^=]*)=?(.*)$")
      if k:match("^X%-Amz%-") then
        p[k] = v:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
      else
        rest[#rest + 1] = pair
      end
    end
    if p["X-Amz-Algorithm"] ~= "AWS4-HMAC-SHA256" or not p["X-Amz-Credential"] or not p["X-Amz-SignedHeaders"]
       or not p["X-Amz-Date"] then
      return err(400, "IncompleteSignatureException",
        "Presigned requests need X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature")
    end
    presign = tonumber(p["X-Amz-Expires"] or "")
    if not presign or presign < 1 or presign > 604800 then
      return err(400, "IncompleteSignatureException", "X-Amz-Expires must be between 1 and 604800 seconds")
    end
    a = { credential = p["X-Amz-Credential"], signed_headers = p["X-Amz-SignedHeaders"],
          signature = p["X-Amz-Signature"], date = p["X-Amz-Date"], token = p["X-Amz-Security-Token"] }
    query = table.concat(rest, "&")
  else
    return err(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
  end
  local akid, sdate, region, service, term = a.credential:match("^([^/]+)/(%d+)/([^/]+)/([^/]+)/([^/]+)$")
  if not akid then
    return err(400, "IncompleteSignatureException", "Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request")
  end
  local cred = opts.credentials[akid]
  if not cred then
    return err(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
  end
  local token = presign and a.token or h["x-amz-security-token"]
  if token ~= cred.session_token then
    return err(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
  end
  local amzdate = presign and a.date or h["x-amz-date"]
  local t = _M.parse_amz_date(amzdate)
  if not t then
    return err(400, "IncompleteSignatureException", "Missing or malformed X-Amz-Date header (expected YYYYMMDDTHHMMSSZ)")
  end
  if service ~= SERVICE then
    return err(403, "InvalidSignatureException", "Credential should be scoped to correct service: '" .. SERVICE .. "'.")
  end
  if term ~= "aws4_request" then
    return err(403, "InvalidSignatureException", "Credential should be scoped with a valid terminator: 'aws4_request'.")
  end
  if sdate ~= amzdate:sub(1, 8) then
    return err(403, "InvalidSignatureException",
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" ..
      sdate .. "' != '" .. amzdate:sub(1, 8) .. "'")
  end
  local now = opts.now
  if presign then
    if now > t + presign then
      return err(403, "AccessDeniedException", "Request has expired", { date = now })
    end
    if t > now + MAX_SKEW then
      return err(403, "AccessDeniedException", "Request is not yet valid", { date = now })
    end
  elseif math.abs(t - now) > MAX_SKEW then
    local msg
    if t < now then
      msg = string.format("Signature expired: %s is now earlier than %s (%s - 5 min.)",
        amzdate, _M.amz_date(now - MAX_SKEW), _M.amz_date(now))
    else
      msg = string.format("Signature not yet current: %s is still later than %s (%s + 5 min.)",
        amzdate, _M.amz_date(now + MAX_SKEW), _M.amz_date(now))
    end
    return err(403, "InvalidSignatureException", msg, { date = now })
  end
  local names, seen_host = {}, false
  for name in a.signed_headers:gmatch("[^;]+") do
    names[#names + 1] = name
    if name == "host" then seen_host = true end
  end
  if not seen_host then
    return err(403, "InvalidSignatureException", "'Host' must be a signed header")
  end
  local headers = {}
  for _, name in ipairs(names) do
    local v = h[name]
    if v == nil then
      return err(403, "InvalidSignatureException", "Signed header '" .. name .. "' is missing from the request")
    end
    headers[name] = v
  end
  if not opts.sign then
    return err(500, "InternalServerException", "The emulator cannot verify signatures: gameliftstreams.core.sign is missing")
  end
  query = query or req.query
  local url = "http://" .. (h["host"] or "localhost") .. req.path .. (query ~= "" and ("?" .. query) or "")
  local ok, signed, serr = pcall(opts.sign, {
    method = req.method, url = url, headers = headers, body = req.body or "",
    region = region, service = service,
    credentials = { access_key_id = akid, secret_access_key = cred.secret,
                    session_token = presign and token or nil },
    time = t, normalize = true, presign = presign,
  })
  if not ok or not signed then
    return err(403, "InvalidSignatureException", "The request could not be canonicalized: " .. tostring(ok and serr or signed))
  end
  local info = { access_key_id = akid, region = region, time = t,
                 canonical_request = signed.canonical_request, string_to_sign = signed.string_to_sign }
  local matched = _M.constant_eq(signed.signature, a.signature)
  if not matched then
    -- a header sent several times arrives joined with ", "; the signer joined the
    -- values with ",": try again with such values as lists
    local split, any = {}, false
    for name, v in pairs(headers) do
      if v:find(", ", 1, true) then
        local parts = {}
        for part in (v .. ", "):gmatch("(.-), ") do parts[#parts + 1] = part end
        split[name], any = parts, true
      else
        split[name] = v
      end
    end
    if any then
      local ok2, again = pcall(opts.sign, {
        method = req.method, url = url, headers = split, body = req.body or "",
        region = region, service = service,
        credentials = { access_key_id = akid, secret_access_key = cred.secret,
                        session_token = presign and token or nil },
        time = t, normalize = true, presign = presign,
      })
      matched = ok2 and again and _M.constant_eq(again.signature, a.signature)
    end
  end
  if not matched then
    return err(403, "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. " ..
      "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
      -- as AWS answers: what the request should have been signed as (it holds the signed
      -- headers' values, x-amz-security-token among them)
      .. "\n\nThe Canonical String for this request should have been\n'" .. signed.canonical_request
      .. "'\n\nThe String-to-Sign should have been\n'" .. signed.string_to_sign .. "'\n",
      { info = info })
  end
  return info
end

return _M
