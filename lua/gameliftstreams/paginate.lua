--- Paginators: generic-for iterators over the model's paginated List* operations,
-- driven by the C state machine `core.paginator` (no C frame is ever yielded
-- across: each page is one ordinary `client:call`, which may yield inside a task).
--
--     local pages = client:pages("list_stream_sessions", { Identifier = "sg-1" },
--                                { page_size = 50, max_items = 500, starting_token = nil })
--     for page in pages do ... end
--     local token = pages:resume_token() -- set when max_items stopped the walk with items left
--
-- `client:items(...)` is the same over the items of each page (one page in memory
-- at a time). Both return a callable object, so `for x in client:pages(...)` works
-- directly and the object can be kept to ask for `resume_token()` afterwards
-- (also `paginate.resume_token(iter)`). The resume token is boto3's format
-- (base64 of `{"NextToken": ..., "boto_truncate_amount": n}`), so it can be passed
-- to boto3 as `PaginationConfig.StartingToken` and back.
--
-- Bad options (an unknown name, with a "did you mean" hint; a wrong type or range) raise an
-- InvalidParameter error object, as does an operation that does not paginate.
--
-- A failure half-way RAISES the error object (`error(err)`): a loop never ends early
-- in silence. Wrap the loop in `pcall` to handle it. A service that answers with the
-- NextToken it was sent raises a `PaginationError` once that page was handed out (botocore's
-- order: the page, then the error; a walk that max_items ends on that page ends quietly).
local _M = { _VERSION = "0.1" }

local type, error, setmetatable, pairs, tostring = type, error, setmetatable, pairs, tostring
local math_floor = math.floor

local core, errors, model, validate
local function deps()
  if not core then
    core = require("gameliftstreams.core")
    errors = require("gameliftstreams.errors")
    model = require("gameliftstreams.model")
    validate = require("gameliftstreams.validate")
  end
end

local function resolve(op)
  deps()
  if type(op) ~= "string" then error("paginate: operation name must be a string", 3) end
  -- the SDK's one table of operation names (PascalCase and snake_case)
  local name = require("gameliftstreams.client").operation_name(op)
  local spec = name and model.paginators[name]
  if not spec then
    -- the closest paginated name, in the caller's spelling (snake_case unless it wrote PascalCase)
    local names = {}
    for pname in pairs(model.paginators) do
      names[pname] = true
      local snake = model.operations[pname] and model.operations[pname].snake
      if snake then names[snake] = true end
    end
    local hint = validate.closest(op, names)
    local why = name and "is not a paginated operation" or "is not a paginated operation (nor any operation)"
    error(errors.invalid("'" .. op .. "' " .. why .. (hint and (" (did you mean '" .. hint .. "'?)") or "")), 3)
  end
  return name, spec
end

local MAX_ITEMS = 2 ^ 53 -- every integer up to here is exact in a double (and in the C core)

local function count(limit)
  return function(v) return type(v) == "number" and v >= 1 and v <= limit and v == math_floor(v) end
end

-- An integral number as an integer (10.0 -> 10 under Lua 5.4, where they differ).
local tointeger = math.tointeger or function(v) return v end

-- The largest page the operation's limit member accepts (MaxResults: 100), else 2^31 - 1.
local function page_limit(op, limit_key)
  local opdef = model.operations[op]
  local shape = opdef and opdef.input and model.shapes[type(opdef.input) == "table" and opdef.input.shape or opdef.input]
  local ref = shape and shape.members and shape.members[limit_key]
  local lshape = ref and model.shapes[type(ref) == "table" and ref.shape or ref]
  return lshape and lshape.max or 2147483647
end

local OPTIONS_CACHE = {}
local function options_spec(op, limit_key)
  local spec = OPTIONS_CACHE[op]
  if not spec then
    local max = page_limit(op, limit_key)
    spec = {
      page_size = { count(max), "an integer from 1 to " .. max .. " (sent as " .. tostring(limit_key) .. ")" },
      max_items = { count(MAX_ITEMS), "an integer from 1 to 2^53" },
      starting_token = { function(v) return type(v) == "string" end, "a string (a resume token)" },
    }
    OPTIONS_CACHE[op] = spec
  end
  return spec
end

local function first_key(k)
  if type(k) == "table" then return k[1] end
  return k
end

-- Pages ----------------------------------------------------------------------

local Pages = {}
Pages.__index = Pages

local function new_pages(client, op, input, opts, level)
  if type(client) ~= "table" or type(client.call) ~= "function" then
    error("paginate: client must be an SDK client", level)
  end
  local name, spec = resolve(op)
  if input ~= nil and type(input) ~= "table" then error("paginate: input must be a table", level) end
  if opts ~= nil and type(opts) ~= "table" then error("paginate: opts must be a table", level) end
  input = input or {}
  local ok, oerr = validate.options("paginate " .. name, opts, options_spec(name, spec.limit_key))
  if not ok then error(oerr, level) end
  opts = opts or {}
  local in_tok, out_tok = first_key(spec.input_token), first_key(spec.output_token)
  local page_size = opts.page_size and tointeger(opts.page_size)
  local max_items = opts.max_items and tointeger(opts.max_items)
  local start = opts.starting_token
  if start == nil and type(input[in_tok]) == "string" and input[in_tok] ~= "" then start = input[in_tok] end
  local p = core.paginator{ page_size = page_size, max_items = max_items, starting_token = start }
  if not p then error(errors.invalid("starting_token is not a valid pagination token"), level) end
  return setmetatable({
    client = client, op = name, input = input, p = p,
    page_size = page_size, in_tok = in_tok, out_tok = out_tok,
    limit_key = spec.limit_key, result_key = first_key(spec.result_key),
    pages = 0, items = 0, finished = false, resume = nil,
  }, Pages)
end

local function finish(self)
  if self.finished then return end
  self.finished = true
  if self.p then
    self.resume = self.p:resume_token()
    self.p:close()
    self.p = nil
  end
end

--- The next page (the operation's output, its item list cut to what is handed out), or nil.
-- Raises the error object when a call fails.
function Pages:next_page()
  if self.finished then
    -- the service repeated its token on the last page handed out: the walk ends here, raising
    local stop = self.stop
    if stop then
      self.stop = nil
      self.error = stop
      error(stop, 0)
    end
    return nil
  end
  local p = self.p
  if p:done() then finish(self); return nil end
  local req = {}
  for k, v in pairs(self.input) do req[k] = v end
  req[self.in_tok] = p:next_token()
  if self.page_size then req[self.limit_key] = self.page_size end
  local out, err = self.client:call(self.op, req)
  if not out then
    finish(self)
    self.error = err
    if not errors.is(err) then
      err = errors.new{ code = "PaginationError", message = self.op .. " failed: " .. tostring(err) }
    end
    error(err, 0)
  end
  local list = out[self.result_key]
  if type(list) ~= "table" then list = {} end
  local n = #list
  local tok = out[self.out_tok]
  if type(tok) ~= "string" then tok = nil end
  -- A page whose NextToken is the one it was asked with is handed out, and the next step
  -- raises (botocore yields that page, then raises its PaginationError)
  local first, last, repeated = p:feed(tok, n)
  if repeated then
    self.stop = errors.new{ code = "PaginationError",
                            message = self.op .. ": the service returned the same NextToken twice" }
  end
  if first ~= 1 or last ~= n then
    local cut = {}
    for i = first, last do cut[#cut + 1] = list[i] end
    list = cut
  end
  out[self.result_key] = list
  self.pages = self.pages + 1
  self.items = self.items + #list
  if p:done() then finish(self) end
  return out
end

Pages.__call = Pages.next_page

--- The boto3-style token to continue where `max_items` stopped, or nil (walk complete,
-- or not finished yet).
function Pages:resume_token()
  if self.p and self.p:done() then finish(self) end
  return self.resume
end

--- Stops the walk early and frees its state.
function Pages:close()
  finish(self)
end

function Pages:__tostring()
  return "gameliftstreams pages (" .. self.op .. ", " .. (self.finished and "finished" or "open") .. ")"
end

-- Items ----------------------------------------------------------------------

local Items = {}
Items.__index = Items

--- The next item, or nil. Holds one page at a time.
function Items:next_item()
  while true do
    local list = self.list
    if list then
      local i = self.idx + 1
      if i <= #list then
        self.idx = i
        return list[i]
      end
      self.list = nil -- drop the page before asking for the next one
    end
    local page = self.pager:next_page()
    if not page then return nil end
    self.list = page[self.pager.result_key]
    self.idx = 0
  end
end

Items.__call = Items.next_item

--- Where a walk that max_items stopped can continue (as Pages:resume_token).
function Items:resume_token() return self.pager:resume_token() end
--- Stops the walk early (as Pages:close).
function Items:close() self.list = nil; self.pager:close() end
function Items:__tostring()
  return "gameliftstreams items (" .. self.pager.op .. ", " .. (self.pager.finished and "finished" or "open") .. ")"
end

--- Pages of a paginated operation: `for page in paginate.pages(client, op, input, opts) do`.
-- opts: page_size (sent as the limit key, MaxResults), max_items, starting_token.
function _M.pages(client, op, input, opts)
  return new_pages(client, op, input, opts, 3)
end

--- Items of every page: `for item in paginate.items(client, op, input, opts) do`.
function _M.items(client, op, input, opts)
  return setmetatable({ pager = new_pages(client, op, input, opts, 3), idx = 0 }, Items)
end

--- The resume token of a pages/items iterator (see Pages:resume_token).
function _M.resume_token(iter)
  return iter:resume_token()
end

return _M
