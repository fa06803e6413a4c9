-- Paginators over a purpose-built restJson1 server (real sockets, the real client):
-- every page, page_size, max_items with resume tokens, starting tokens, repeated tokens,
-- failures half-way, and bounded memory over 10,000 items.
local helpers = require("helpers")

-- GET /streamgroups/{id}/streamsessions?MaxResults=&NextToken=
--   id "n-<N>"        N sessions, tokens "tok-<offset>", default page size 10
--   id "repeat"       always answers NextToken "same" (items 1-2 without a token, 3-4 with one)
--   id "fail-<P>"     pages of 10 forever, page P answers 403 AccessDeniedException
--   id "null"         one page with "Items": null and an empty NextToken
-- GET /applications: 3 applications on 2 pages.
local SERVER = [[
local httpd = require("gameliftstreams.emulator.httpd")
local cjson = require("cjson")
local function q(req, k)
  local v = req.query:match("[?&]?" .. k .. "=([^&]*)")
  return v and v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
end
local function json(status, t)
  return status, { ["Content-Type"] = "application/json", ["x-amzn-RequestId"] = "req-1" }, cjson.encode(t)
end
local function sessions(id, from, to)
  local items = {}
  for i = from, to do
    items[#items + 1] = { Arn = "arn:aws:gameliftstreams:us-west-2:111122223333:streamsession/" .. id .. "/s" .. i,
                          UserId = "user-" .. i, Status = "ACTIVE", Protocol = "WebRTC", CreatedAt = 1767225600 + i,
                          Location = "us-west-2" }
  end
  return items
end
httpd.main{ handler = function(req)
  if req.path == "/applications" then
    if q(req, "NextToken") == "p2" then
      return json(200, { Items = { { Arn = "arn:aws:gameliftstreams:us-west-2:111122223333:application/a-3", Id = "a-3" } } })
    end
    return json(200, { Items = { { Arn = "arn:aws:gameliftstreams:us-west-2:111122223333:application/a-1", Id = "a-1" },
                                 { Arn = "arn:aws:gameliftstreams:us-west-2:111122223333:application/a-2", Id = "a-2" } },
                       NextToken = "p2" })
  end
  local id = req.path:match("^/streamgroups/([^/]+)/streamsessions$")
  if not id then return json(404, { message = "no route" }) end
  local size = tonumber(q(req, "MaxResults") or "") or 10
  local tok = q(req, "NextToken")
  local offset = tonumber(tok and tok:match("^tok%-(%d+)$") or "0")
  if id == "repeat" then
    return json(200, { Items = tok and sessions(id, 3, 4) or sessions(id, 1, 2), NextToken = "same" })
  elseif id == "null" then
    return 200, { ["Content-Type"] = "application/json" }, '{"Items": null, "NextToken": ""}'
  end
  local fail_page = tonumber(id:match("^fail%-(%d+)$") or "")
  if fail_page then
    if offset / size + 1 >= fail_page then
      return 403, { ["Content-Type"] = "application/json", ["x-amzn-errortype"] = "AccessDeniedException" },
        cjson.encode({ message = "denied on page " .. fail_page })
    end
    return json(200, { Items = sessions(id, offset + 1, offset + size), NextToken = "tok-" .. (offset + size) })
  end
  local total = tonumber(id:match("^n%-(%d+)$") or "0")
  local last = math.min(offset + size, total)
  local out = { Items = sessions(id, offset + 1, last) }
  if last < total then out.NextToken = "tok-" .. last end
  return json(200, out)
end }
]]

describe("paginators", function()
  local srv, dir, client, paginate

  setup(function()
    dir = helpers.tmpdir()
    srv = helpers.spawn_server(helpers.write_file(dir .. "/pages.lua", SERVER), {})
    client = helpers.client(srv, { max_attempts = 1,
      credentials = { access_key_id = "AKIDTEST", secret_access_key = "test-secret" } })
    paginate = require("gameliftstreams.paginate")
  end)

  teardown(function()
    if srv then srv.stop() end
    helpers.rm_rf(dir)
  end)

  local function user_ids(list)
    local out = {}
    for i, s in ipairs(list) do out[i] = tonumber(s.UserId:match("%d+")) end
    return out
  end

  local function range(a, b)
    local out = {}
    for i = a, b do out[#out + 1] = i end
    return out
  end

  describe("pages", function()
    it("walks every page, sending page_size as MaxResults and NextToken from the last page", function()
      local sizes, ids = {}, {}
      for page in client:pages("list_stream_sessions", { Identifier = "n-23" }, { page_size = 5 }) do
        sizes[#sizes + 1] = #page.Items
        for _, id in ipairs(user_ids(page.Items)) do ids[#ids + 1] = id end
      end
      assert.same({ 5, 5, 5, 5, 3 }, sizes)
      assert.same(range(1, 23), ids)
    end)

    it("accepts the PascalCase operation name and does not touch the caller's input", function()
      local input = { Identifier = "n-3" }
      local n = 0
      for page in client:pages("ListStreamSessions", input, { page_size = 2 }) do n = n + #page.Items end
      assert.equal(3, n)
      assert.same({ Identifier = "n-3" }, input)
    end)

    it("works for another paginated operation (ListApplications)", function()
      local ids = {}
      for app in client:items("list_applications") do ids[#ids + 1] = app.Id end
      assert.same({ "a-1", "a-2", "a-3" }, ids)
    end)

    it("a page with Items null and an empty NextToken ends the walk", function()
      local pages = 0
      for page in client:pages("list_stream_sessions", { Identifier = "null" }) do
        pages = pages + 1
        assert.same({}, page.Items)
      end
      assert.equal(1, pages)
    end)

    it("raises a PaginationError when the service repeats its NextToken, after handing out that page (botocore's order)", function()
      local ids = {}
      local pages = client:pages("list_stream_sessions", { Identifier = "repeat" })
      local ok, err = pcall(function()
        for page in pages do
          for _, id in ipairs(user_ids(page.Items)) do ids[#ids + 1] = id end
        end
      end)
      assert.is_false(ok)
      assert.equal("PaginationError", err.code)
      -- the first page (no token -> "same") and the second (asked with "same", answered "same")
      assert.same({ 1, 2, 3, 4 }, ids)
      assert.is_nil(pages:next_page()) -- raised once; the walk is over
      assert.is_nil(pages:resume_token())
      ids = {}
      ok, err = pcall(function()
        for s in client:items("list_stream_sessions", { Identifier = "repeat" }) do ids[#ids + 1] = user_ids({ s })[1] end
      end)
      assert.is_false(ok)
      assert.equal("PaginationError", err.code)
      assert.same({ 1, 2, 3, 4 }, ids)
    end)

    it("ends quietly with a resume token when max_items is reached on the page that repeats the token", function()
      local ids = {}
      local it = client:items("list_stream_sessions", { Identifier = "repeat" }, { max_items = 4 })
      for s in it do ids[#ids + 1] = user_ids({ s })[1] end
      assert.same({ 1, 2, 3, 4 }, ids)
      -- boto3 gives this same token here: base64 of {"NextToken": "same"}
      assert.equal("eyJOZXh0VG9rZW4iOiAic2FtZSJ9", it:resume_token())
    end)

    it("raises the service error half-way: a loop never ends early in silence", function()
      local seen = 0
      local ok, err = pcall(function()
        for item in client:items("list_stream_sessions", { Identifier = "fail-3" }) do
          assert.is_table(item)
          seen = seen + 1
        end
      end)
      assert.is_false(ok)
      assert.is_true(require("gameliftstreams.errors").is(err))
      assert.equal("AccessDeniedException", err.code)
      assert.equal(403, err.status)
      assert.equal(20, seen)
    end)

    it("checks its options as gls.new does: unknown names with a hint, wrong types and ranges", function()
      local function raised(opts, op)
        local ok, err = pcall(client.items, client, op or "list_stream_sessions", { Identifier = "n-1" }, opts)
        assert.is_false(ok)
        assert.equal("InvalidParameter", err.code)
        return err.message
      end
      assert.matches("unknown option 'pagesize' %(did you mean 'page_size'%?%)", raised{ pagesize = 5 })
      assert.matches("unknown option 'maxitems' %(did you mean 'max_items'%?%)", raised{ maxitems = 5 })
      assert.matches("option 'page_size' must be an integer from 1 to 100 %(sent as MaxResults%), got fractional number",
                     raised{ page_size = 2.5 })
      assert.matches("option 'page_size' must be an integer from 1 to 100", raised{ page_size = 500 })
      assert.matches("option 'page_size' must be .*, got string", raised{ page_size = "5" })
      assert.matches("option 'max_items' must be an integer from 1 to 2%^53", raised{ max_items = math.huge })
      assert.matches("option 'max_items' must be an integer from 1 to 2%^53", raised{ max_items = 2 ^ 60 })
      assert.matches("option 'starting_token' must be a string", raised{ starting_token = 5 })
    end)

    it("takes integral floats as integers (page_size = 10.0, max_items = 5.0)", function()
      local sizes = {}
      for page in client:pages("list_stream_sessions", { Identifier = "n-23" }, { page_size = 10.0 }) do
        sizes[#sizes + 1] = #page.Items
      end
      assert.same({ 10, 10, 3 }, sizes)
      local n = 0
      for _ in client:items("list_stream_sessions", { Identifier = "n-23" }, { max_items = 5.0 }) do n = n + 1 end
      assert.equal(5, n)
    end)

    it("names the paginated operation a misspelt one was meant to be", function()
      local ok, err = pcall(client.items, client, "list_stream_session", { Identifier = "n-1" })
      assert.is_false(ok)
      assert.matches("'list_stream_session' is not a paginated operation .*%(did you mean 'list_stream_sessions'%?%)",
                     err.message)
      ok, err = pcall(client.pages, client, "ListStreamGroup", {})
      assert.matches("did you mean 'ListStreamGroups'", err.message)
    end)

    it("rejects a paginated name it does not know and bad options by raising InvalidParameter", function()
      local ok, err = pcall(client.pages, client, "get_stream_session", {})
      assert.is_false(ok)
      assert.equal("InvalidParameter", err.code)
      ok, err = pcall(client.items, client, "list_stream_sessions", { Identifier = "n-1" }, { max_items = 0 })
      assert.is_false(ok)
      assert.equal("InvalidParameter", err.code)
      ok, err = pcall(client.pages, client, "list_stream_sessions", { Identifier = "n-1" },
                      { starting_token = "eyJOZXh0VG9rZW4iOiA1fQ==" })
      assert.is_false(ok)
      assert.equal("InvalidParameter", err.code)
    end)
  end)

  describe("max_items and resume tokens", function()
    it("stops mid-page after max_items and resumes exactly where it stopped", function()
      local it = client:items("list_stream_sessions", { Identifier = "n-50" }, { page_size = 10, max_items = 13 })
      local got = {}
      for s in it do got[#got + 1] = s end
      assert.same(range(1, 13), user_ids(got))
      local token = it:resume_token()
      assert.is_string(token)
      -- boto3's format: base64 of {"NextToken": <request token of that page>, "boto_truncate_amount": 3}
      local core = require("gameliftstreams.core")
      local cjson = require("cjson")
      local decoded = cjson.decode(core.b64decode(token))
      assert.equal("tok-10", decoded.NextToken)
      assert.equal(3, decoded.boto_truncate_amount)

      local it2 = client:items("list_stream_sessions", { Identifier = "n-50" },
                               { page_size = 10, max_items = 20, starting_token = token })
      local rest = {}
      for s in it2 do rest[#rest + 1] = s end
      assert.same(range(14, 33), user_ids(rest))
      local token3 = paginate.resume_token(it2)
      local all = {}
      for s in client:items("list_stream_sessions", { Identifier = "n-50" },
                            { page_size = 10, starting_token = token3 }) do
        all[#all + 1] = s
      end
      assert.same(range(34, 50), user_ids(all))
    end)

    it("stops on a page boundary with the next page's token, and max_items on the first page", function()
      local pages = client:pages("list_stream_sessions", { Identifier = "n-30" }, { page_size = 10, max_items = 20 })
      local n = 0
      for page in pages do n = n + #page.Items end
      assert.equal(20, n)
      local decoded = require("cjson").decode(require("gameliftstreams.core").b64decode(pages:resume_token()))
      assert.equal("tok-20", decoded.NextToken)
      assert.is_nil(decoded.boto_truncate_amount)

      local first = client:items("list_stream_sessions", { Identifier = "n-30" }, { page_size = 10, max_items = 4 })
      for _ in first do end
      local rest = {}
      for s in client:items("list_stream_sessions", { Identifier = "n-30" },
                            { page_size = 10, starting_token = first:resume_token() }) do
        rest[#rest + 1] = s
      end
      assert.same(range(5, 30), user_ids(rest))
    end)

    it("has no resume token when the walk reached the end", function()
      local it = client:items("list_stream_sessions", { Identifier = "n-5" }, { max_items = 5 })
      local n = 0
      for _ in it do n = n + 1 end
      assert.equal(5, n)
      assert.is_nil(it:resume_token())
    end)

    it("accepts a token written by boto3 and a raw service NextToken", function()
      -- base64(json.dumps({"NextToken": "tok-10", "boto_truncate_amount": 8})) from Python
      local boto3 = "eyJOZXh0VG9rZW4iOiAidG9rLTEwIiwgImJvdG9fdHJ1bmNhdGVfYW1vdW50IjogOH0="
      local got = {}
      for s in client:items("list_stream_sessions", { Identifier = "n-25" },
                            { page_size = 10, starting_token = boto3 }) do
        got[#got + 1] = s
      end
      assert.same(range(19, 25), user_ids(got))
      got = {}
      for s in client:items("list_stream_sessions", { Identifier = "n-25", NextToken = "tok-20" }, { page_size = 10 }) do
        got[#got + 1] = s
      end
      assert.same(range(21, 25), user_ids(got))
    end)
  end)

  describe("memory", function()
    it("walking 10,000 sessions keeps one page in memory", function()
      local function walk(keep)
        collectgarbage("collect")
        local base = collectgarbage("count")
        local peak, n, kept = 0, 0, {}
        for s in client:items("list_stream_sessions", { Identifier = "n-10000" }, { page_size = 100 }) do
          n = n + 1
          if keep then kept[n] = s end
          if n % 500 == 0 then
            collectgarbage("collect")
            local grown = collectgarbage("count") - base
            if grown > peak then peak = grown end
          end
        end
        return n, peak
      end
      local n, streamed = walk(false)
      assert.equal(10000, n)
      local n2, accumulated = walk(true)
      assert.equal(10000, n2)
      -- keeping the items costs 10,000 items; walking costs about one page (100 items)
      assert.is_true(accumulated > 10 * streamed,
        string.format("streamed %.0f KiB vs accumulated %.0f KiB", streamed, accumulated))
      assert.is_true(streamed < 1024, string.format("streamed %.0f KiB", streamed))
      if os.getenv("GLS_VERBOSE") then print(string.format("streamed %.0f KiB, accumulated %.0f KiB", streamed, accumulated)) end
    end)
  end)

  describe("inside tasks", function()
    it("pages of several walks interleave without blocking each other", function()
      local sched = require("gameliftstreams.sched")
      local counts = {}
      for k = 1, 4 do
        sched.spawn(function()
          local n = 0
          for s in client:items("list_stream_sessions", { Identifier = "n-40" }, { page_size = 7 }) do
            assert.is_string(s.Arn)
            n = n + 1
          end
          counts[k] = n
        end)
      end
      assert.is_true(sched.run())
      assert.same({ 40, 40, 40, 40 }, counts)
    end)
  end)

  describe("against the emulator", function()
    local emu, ec, group

    setup(function()
      emu = helpers.start_emulator{ delay_scale = 0.01 }
      ec = helpers.client(emu)
      local FAST = { min_delay = 0.02, max_delay = 0.1, max_wait = 20 }
      local app = assert(ec:create_application{
        Description = "paginate-spec", RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
        ExecutablePath = "bin/game", ApplicationSourceUri = "s3://bucket/game/" })
      assert(ec:wait("application_ready", { Identifier = app.Id }, FAST))
      group = assert(ec:create_stream_group{
        Description = "paginate-spec", StreamClass = "gen5n_high", DefaultApplicationIdentifier = app.Id,
        LocationConfigurations = { { LocationName = "us-west-2" } } })
      assert(ec:wait("stream_group_active", { Identifier = group.Id }, FAST))
      for i = 1, 25 do
        assert(ec:start_stream_session{ Identifier = group.Id, ApplicationIdentifier = app.Id,
                                        Protocol = "WebRTC", SignalRequest = "offer", UserId = "user-" .. i })
      end
    end)

    teardown(function() if emu then emu.stop() end end)

    it("lists every session of a group across pages, and resumes after max_items", function()
      local seen, pages = {}, 0
      for page in ec:pages("list_stream_sessions", { Identifier = group.Id }, { page_size = 10 }) do
        pages = pages + 1
        assert.is_true(#page.Items <= 10)
        for _, s in ipairs(page.Items) do seen[s.UserId] = (seen[s.UserId] or 0) + 1 end
      end
      assert.equal(3, pages)
      for i = 1, 25 do assert.equal(1, seen["user-" .. i], "user-" .. i) end

      local first = ec:items("list_stream_sessions", { Identifier = group.Id }, { page_size = 10, max_items = 14 })
      local ids = {}
      for s in first do ids[#ids + 1] = s.UserId end
      assert.equal(14, #ids)
      for s in ec:items("list_stream_sessions", { Identifier = group.Id },
                        { page_size = 10, starting_token = first:resume_token() }) do
        ids[#ids + 1] = s.UserId
      end
      assert.equal(25, #ids)
      local distinct = {}
      for _, id in ipairs(ids) do distinct[id] = true end
      for i = 1, 25 do assert.is_true(distinct["user-" .. i]) end
    end)

    it("lists by account and lists the stream groups", function()
      local n = 0
      for _ in ec:items("list_stream_sessions_by_account", {}, { page_size = 7 }) do n = n + 1 end
      assert.equal(25, n)
      local groups = {}
      for g in ec:items("ListStreamGroups", {}, { page_size = 1 }) do groups[#groups + 1] = g.Id end
      assert.same({ group.Id }, groups)
    end)
  end)
end)
