--- The 30 operations of the emulator: routes (method + URI template, written by
-- hand, independent of the client's generated model), the shapes of their path labels
-- and query members, and their handlers, which live in resources/, one file per resource.
-- A handler gets ctx = { st, labels, query, input, region, base_url, op } and returns
-- status, output  or  nil, { code =, message = }.
local schema = require("gameliftstreams.emulator.schema")

local _M = {}

local S = schema.shapes

--- method, URI template, operation, success status, query members { wire = { member, shape, list } }.
_M.routes = {
  { "POST", "/streamgroups/{Identifier}/locations", "AddStreamGroupLocations", 200 },
  { "POST", "/streamgroups/{Identifier}/associations", "AssociateApplications", 200 },
  { "POST", "/applications", "CreateApplication", 201 },
  { "POST", "/streamgroups", "CreateStreamGroup", 201 },
  { "POST", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/access",
    "CreateStreamSessionAdminShell", 200 },
  { "POST", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/connections",
    "CreateStreamSessionConnection", 200 },
  { "POST", "/streamgroups/{Identifier}/streamurls", "CreateStreamUrl", 201 },
  { "DELETE", "/applications/{Identifier}", "DeleteApplication", 204 },
  { "DELETE", "/streamgroups/{Identifier}", "DeleteStreamGroup", 204 },
  { "POST", "/streamgroups/{Identifier}/disassociations", "DisassociateApplications", 200 },
  { "PUT", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}/exportfiles",
    "ExportStreamSessionFiles", 200 },
  { "GET", "/applications/{Identifier}", "GetApplication", 200 },
  { "GET", "/streamgroups/{Identifier}", "GetStreamGroup", 200 },
  { "GET", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}", "GetStreamSession", 200 },
  { "GET", "/streamgroups/{Identifier}/streamurls/{StreamUrlIdentifier}", "GetStreamUrl", 200 },
  { "GET", "/applications/{Identifier}/shadercaches", "ListApplicationShaderCaches", 200 },
  { "GET", "/applications", "ListApplications", 200, { NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamgroups", "ListStreamGroups", 200, { NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamgroups/{Identifier}/streamsessions", "ListStreamSessions", 200,
    { Status = "Status", ExportFilesStatus = "ExportFilesStatus", NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamsessions", "ListStreamSessionsByAccount", 200,
    { Status = "Status", ExportFilesStatus = "ExportFilesStatus", NextToken = "NextToken", MaxResults = "MaxResults" } },
  { "GET", "/streamurls", "ListStreamUrls", 200,
    { Status = "Status", StreamGroupIdentifier = "StreamGroupIdentifier", NextToken = "NextToken",
      MaxResults = "MaxResults" } },
  { "GET", "/tags/{ResourceArn}", "ListTagsForResource", 200 },
  { "DELETE", "/streamgroups/{Identifier}/locations", "RemoveStreamGroupLocations", 204, { locations = "Locations" } },
  { "POST", "/streamgroups/{Identifier}/streamurls/{StreamUrlIdentifier}/revoke", "RevokeStreamUrl", 204 },
  { "POST", "/streamgroups/{Identifier}/streamsessions", "StartStreamSession", 201 },
  { "POST", "/tags/{ResourceArn}", "TagResource", 200 },
  { "DELETE", "/streamgroups/{Identifier}/streamsessions/{StreamSessionIdentifier}", "TerminateStreamSession", 204 },
  { "DELETE", "/tags/{ResourceArn}", "UntagResource", 200, { tagKeys = "TagKeys" } },
  { "PATCH", "/applications/{Identifier}", "UpdateApplication", 200 },
  { "PATCH", "/streamgroups/{Identifier}", "UpdateStreamGroup", 200 },
}

-- Query members: shapes, and which are lists / required.
_M.query_shapes = {
  NextToken = { shape = schema.str{ min = 1, max = 2048 } },
  MaxResults = { shape = S.MaxResults, integer = true },
  Status = { shape = S.StreamSessionStatus },
  ExportFilesStatus = { shape = S.ExportFilesStatus },
  StreamGroupIdentifier = { shape = S.Identifier },
  Locations = { shape = S.LocationsList, list = true, required = true },
  TagKeys = { shape = S.TagKeyList, list = true, required = true },
}
_M.query_status_shape = { ListStreamUrls = S.StreamUrlStatus }

-- Identifier labels: shape of each path label.
_M.label_shapes = {
  Identifier = S.Identifier, StreamSessionIdentifier = S.Identifier,
  StreamUrlIdentifier = S.Identifier, ResourceArn = S.Arn,
}

-- operations that take a ClientToken (idempotent creation)
_M.token_ops = {
  CreateApplication = true, CreateStreamGroup = true, CreateStreamUrl = true,
  StartStreamSession = true, CreateStreamSessionConnection = true,
}

local H = {}
_M.handlers = H

for _, name in ipairs({ "applications", "stream_groups", "stream_sessions", "stream_urls", "tags" }) do
  for op, fn in pairs(require("gameliftstreams.emulator.resources." .. name).handlers) do
    assert(H[op] == nil, op)
    H[op] = fn
  end
end
for _, r in ipairs(_M.routes) do assert(H[r[3]], "no handler for " .. r[3]) end

return _M
