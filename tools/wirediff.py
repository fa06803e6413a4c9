#!/usr/bin/env python3
"""Differential check of the request bytes: botocore's against protocol.build's, for all 30 operations.

Run by hand from the repository root, after `make all` (not part of `make test`; needs python3 with
botocore):  python3 tools/wirediff.py [--random N] [--seed S] [--wire]

For each input (spec/support/wire_cases.lua's 30, edge values below, N random inputs per operation
made from the model: reserved and non-ASCII characters, empty strings, lists and maps, members left
out) it compares, under lua5.4 and luajit, the method, the encoded path, the query (as pairs: the
order follows the caller's table in botocore, the model's here), the headers botocore sets other
than the per-request ones, and the body as parsed JSON (the bytes differ by design: botocore writes
", " and ": " and \\u escapes, the SDK compact JSON with UTF-8 as is, like the JS SDK v3).
--wire sends each input through a real client to the emulator and compares what its request log
holds. The made-up model at the end has what the 30 operations lack: timestamps in every location,
booleans and doubles in the query, header members and lists, a greedy label.
Known differences, by design: a timestamp has milliseconds (JS SDK v3) where botocore writes
microseconds; a header list is joined with ", " (JS SDK v3) where botocore writes ","; an
epoch-seconds timestamp keeps its fraction; DELETE without a body has no Content-Length (libcurl,
JS SDK v3) where botocore sends "0". Prints each other difference; exits 1 when there is one.
"""
import argparse, copy, json, os, random, re, shutil, subprocess, sys, tempfile
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config

ROOT = os.getcwd()
MODEL = json.load(open(os.path.join(ROOT, 'model/botocore/service-2.json')))
SH = MODEL['shapes']
PER_REQUEST = {'user-agent', 'x-amz-date', 'authorization', 'amz-sdk-invocation-id', 'amz-sdk-request',
               'content-length', 'host'}

SG = "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1AB2C3De4"
NASTY = "a b+c~d/e%f?g#h&i=j;k:l@m!n$o'p(q)r*s,t[u]v\u00e9\u6f22\U0001F3AE.-_"
EDGE = [
    ("GetApplication", {"Identifier": NASTY}),
    ("GetApplication", {"Identifier": "%2F"}),
    ("GetApplication", {"Identifier": "..."}),
    ("GetStreamSession", {"Identifier": "x y", "StreamSessionIdentifier": "p/q"}),
    ("ListTagsForResource", {"ResourceArn": NASTY}),
    ("ListApplications", {"NextToken": NASTY, "MaxResults": 1}),
    ("ListApplications", {"NextToken": ""}),
    ("ListStreamSessionsByAccount", {}),
    ("ListStreamUrls", {"StreamGroupIdentifier": NASTY, "Status": "REVOKED"}),
    ("RemoveStreamGroupLocations", {"Identifier": SG, "Locations": ["a b", "+", "\u00e9", "x/y", ""]}),
    ("RemoveStreamGroupLocations", {"Identifier": SG, "Locations": []}),
    ("UntagResource", {"ResourceArn": SG, "TagKeys": ["k=v", "a&b", "#", "%", "?", ""]}),
    ("UpdateApplication", {"Identifier": "a-1"}),
    ("UpdateApplication", {"Identifier": "a-1", "Description": "", "ApplicationLogPaths": [],
                           "ApplicationLogOutputUri": ""}),
    ("UpdateStreamGroup", {"Identifier": "sg-1", "LocationConfigurations": []}),
    ("TagResource", {"ResourceArn": SG, "Tags": {}}),
    ("TagResource", {"ResourceArn": SG, "Tags": {"\u00e9": "\u6f22", "": "", "a/b": "</script>",
                                                 "z": "\u2028\u2029\x7f\x00\x1f"}}),
    ("CreateApplication", {"Description": "d\u00e9/\"\\", "RuntimeEnvironment": {"Type": "WINDOWS", "Version": "2022"},
                           "ExecutablePath": "C:\\game\\run.exe", "ApplicationSourceUri": "s3://b/\U0001F3AE",
                           "ApplicationLogPaths": ["", "a"], "Tags": {}}),
    ("CreateApplication", {"Description": "x", "RuntimeEnvironment": {"Type": "UBUNTU", "Version": "22_04_LTS"},
                           "ExecutablePath": "x", "ApplicationSourceUri": "s3://b",
                           "ClientToken": "tok-0123456789abcdef0123456789abcdef"}),
    ("CreateStreamGroup", {"Description": "g", "StreamClass": "gen6n_pro", "LocationConfigurations": [
        {"LocationName": "us-east-1", "AlwaysOnCapacity": 0, "OnDemandCapacity": 2147483647,
         "VpcTransitConfiguration": {"VpcId": "v", "Ipv4CidrBlocks": []}}]}),
    ("CreateStreamUrl", {"Identifier": SG, "ApplicationIdentifier": "a", "Protocol": "WebRTC",
                         "UrlExpiresAfterMinutes": 0, "Locations": [], "AdditionalLaunchArgs": [],
                         "AdditionalEnvironmentVariables": {}, "Description": "", "DisplayConfiguration": {}}),
    ("StartStreamSession", {"Identifier": "sg-1", "Protocol": "WebRTC", "SignalRequest": "v=0\r\n\t\x01\u00e9\U0001F3AE",
                            "ApplicationIdentifier": "a", "PerformanceStatsConfiguration": {"SharedWithClient": False},
                            "AdditionalEnvironmentVariables": {"B": "2", "A": "1"}, "AdditionalLaunchArgs": ["", "\u00e9"]}),
    ("CreateStreamSessionAdminShell", {"Identifier": "sg 1", "StreamSessionIdentifier": "s\u00e9"}),
]

# Lua side: {op, input} in, protocol.build's values out (a missing ClientToken as "<TOKEN>").
BUILD_LUA = r'''
local cjson = require("cjson")
local protocol = require("gameliftstreams.protocol")
local d = cjson.decode(io.read("a"))
local model = d.model or require("gameliftstreams.model")
local out = {}
for i, c in ipairs(d.cases) do
  local shape = model.shapes[model.operations[c.op].input]
  for m, mdef in pairs(shape.members) do
    if mdef.idempotency_token and c.input[m] == nil then c.input[m] = "<TOKEN>" end
  end
  local method, path, query, headers, body = protocol.build(model, c.op, c.input)
  out[i] = method and { method = method, path = path, query = query, headers = headers, body = body or "" }
    or { error = tostring(path.message) }
end
io.write(cjson.encode(out))
'''
# The same inputs through a client to the emulator; its request log.
WIRE_LUA = r'''
local helpers = require("helpers")
local cjson = require("cjson")
local cases = cjson.decode(io.read("a")).cases
local emu = helpers.start_emulator{ delay_scale = 0.01 }
local client = helpers.client(emu, { max_attempts = 1 })
local out = {}
for i, c in ipairs(cases) do
  helpers.control(emu, "DELETE", "requests")
  client:call(c.op, c.input)
  local _, log = helpers.control(emu, "GET", "requests?limit=1")
  local r = log.requests[1]
  out[i] = r and { method = r.method, path = r.path, query = r.query, body = r.body, headers = r.headers }
    or { error = "nothing sent" }
end
emu.stop()
io.write(cjson.encode(out))
'''
CASES_LUA = r'''
local out = {}
for i, c in ipairs(require("support.wire_cases")) do out[i] = { op = c[1], input = c[3] } end
io.write(require("cjson").encode(out))
'''


def lua(code, runtime, payload=None):
    cdir = 'jit' if runtime == 'luajit' else '5.4'
    env = dict(os.environ, LUA_PATH=f"{ROOT}/lua/?.lua;{ROOT}/lua/?/init.lua;{ROOT}/spec/?.lua;;",
               LUA_CPATH=f"{ROOT}/build/{cdir}/?.so;;")
    r = subprocess.run([runtime, '-e', code], input=json.dumps(payload).encode() if payload is not None else b'',
                       env=env, capture_output=True, check=True)
    return json.loads(r.stdout)


def as_lists(shape, v, shapes=SH):
    """cjson writes an empty Lua table as {}: make it [] where the model has a list."""
    s = shapes[shape]
    if s['type'] == 'structure' and isinstance(v, dict):
        return {k: as_lists(s['members'][k]['shape'], x, shapes) for k, x in v.items()}
    if s['type'] == 'list':
        return [] if v == {} else [as_lists(s['member']['shape'], x, shapes) for x in v]
    if s['type'] == 'map' and isinstance(v, dict):
        return {k: as_lists(s['value']['shape'], x, shapes) for k, x in v.items()}
    return v


PALETTE = list("aZ09 +~/%?#&=;:@!$'()*,[]-._\"\\<>{}|^`") + [
    "\u00e9", "\u6f22", "\U0001F3AE", "\u2028", "\x7f", "\x00", "\x1f", "\n", "\t", "\ufeff"]


def random_value(rng, shape):
    s = SH[shape]
    t = s['type']
    if t == 'structure':
        out = {}
        for m, ref in s['members'].items():
            if ref.get('location') == 'uri':
                out[m] = rng.choice(['x', '...', '~']) + ''.join(rng.choice(PALETTE) for _ in range(rng.randint(0, 8)))
            elif m in s.get('required', []) or rng.random() < 0.6:
                out[m] = random_value(rng, ref['shape'])
        return out
    if t == 'list':
        return [random_value(rng, s['member']['shape']) for _ in range(rng.randint(0, 3))]
    if t == 'map':
        return {random_value(rng, s['key']['shape']): random_value(rng, s['value']['shape'])
                for _ in range(rng.randint(0, 3))}
    if t == 'string':
        return rng.choice(s['enum']) if 'enum' in s else ''.join(rng.choice(PALETTE) for _ in range(rng.randint(0, 8)))
    if t in ('integer', 'long'):
        return rng.choice([0, 1, 7, 100, 2147483647, -1])
    if t == 'boolean':
        return rng.choice([True, False])
    raise ValueError(t)


def botocore_client(data_dir, service, **kw):
    s = botocore.session.get_session()
    s.get_component('data_loader').search_paths.insert(0, data_dir)
    return s.create_client(service, region_name='us-west-2', aws_access_key_id='AKID', aws_secret_access_key='secret',
                           config=Config(parameter_validation=False, retries={'max_attempts': 0}), **kw)


class Sent(Exception):
    pass


def botocore_request(client, op, params):
    got = {}

    def send(request, **_):
        u = urlsplit(request.url)
        body = request.body or b''
        got.update(method=request.method, path=u.path, query=u.query,
                   body=body.encode() if isinstance(body, str) else body,
                   headers={k.lower(): v.decode() if isinstance(v, bytes) else v
                            for k, v in request.headers.items() if k.lower() not in PER_REQUEST})
        raise Sent()

    client.meta.events.register('before-send', send)
    name = {v: k for k, v in client.meta.method_to_api_mapping.items()}[op]
    try:
        getattr(client, name)(**copy.deepcopy(params))
    except Sent:
        pass
    finally:
        client.meta.events.unregister('before-send', send)
    return got


def query_pairs(q):
    return sorted(q.split('&'), key=lambda p: p.split('=')[0]) if q else []


def differences(b, o, given_token):
    """What differs between botocore's request b and ours o (protocol.build's or the wire's)."""
    if 'error' in o:
        return [('ours', o['error'])]
    out = []
    for k in ('method', 'path'):
        if b[k] != o[k]:
            out.append((k, b[k], o[k]))
    if query_pairs(b['query']) != query_pairs(o['query']):
        out.append(('query', b['query'], o['query']))
    oh = {k: v for k, v in o['headers'].items() if k not in PER_REQUEST}
    if 'x-l' in oh:  # the made-up model's header list: joined with ", " here, "," by botocore
        oh['x-l'] = re.sub(r'(?<=["\w]), (?=["\w])', ',', oh['x-l'])
    if b['headers'] != oh:
        out.append(('headers', b['headers'], oh))
    bdoc = json.loads(b['body']) if b['body'] else None
    odoc = json.loads(o['body']) if o['body'] else None
    if bdoc and 'ClientToken' in bdoc and not given_token:
        bdoc['ClientToken'] = (odoc or {}).get('ClientToken')
    if bdoc != odoc:
        out.append(('body', b['body'], o['body']))
    if 'content-length' in o['headers'] and o['headers']['content-length'] != str(len(o['body'].encode())):
        out.append(('content-length', len(o['body'].encode()), o['headers']['content-length']))
    return out


def made_up_model():
    """A restJson1 service with what the 30 operations lack; botocore's form and model.lua's form."""
    def st(t, **k):
        return dict(type=t, **k)
    members = {
        'Label': ('Ts', 'uri', 'Label'), 'Greedy': ('Str', 'uri', 'Greedy'),
        'QTs': ('Ts', 'querystring', 'qts'), 'QTsE': ('TsEpoch', 'querystring', 'qtse'),
        'QBool': ('Bool', 'querystring', 'qb'), 'QDbl': ('Dbl', 'querystring', 'qd'),
        'QList': ('StrList', 'querystring', 'ql'),
        'HTs': ('Ts', 'header', 'x-ts'), 'HTsI': ('TsIso', 'header', 'x-tsi'), 'HBool': ('Bool', 'header', 'x-b'),
        'HInt': ('Int', 'header', 'x-i'), 'HList': ('StrList', 'header', 'x-l'),
        'BTs': ('Ts', None, None), 'BTsI': ('TsIso', None, None), 'BTsH': ('TsHttp', None, None),
        'BDbl': ('Dbl', None, None), 'BBool': ('Bool', None, None),
    }
    shapes = {'Str': st('string'), 'Ts': st('timestamp'), 'TsIso': st('timestamp', timestampFormat='iso8601'),
              'TsEpoch': st('timestamp', timestampFormat='unixTimestamp'),
              'TsHttp': st('timestamp', timestampFormat='rfc822'), 'Bool': st('boolean'), 'Int': st('integer'),
              'Dbl': st('double'), 'StrList': st('list', member={'shape': 'Str'})}
    shapes['In'] = st('structure', required=['Label', 'Greedy'], members={
        m: dict(shape=s, **({'location': loc, 'locationName': n} if loc else {})) for m, (s, loc, n) in members.items()})
    uri = '/syn/{Label}/{Greedy+}'
    boto = {'version': '2.0', 'metadata': {'apiVersion': '2020-01-01', 'endpointPrefix': 'syn', 'protocol': 'rest-json',
                                           'serviceId': 'Syn', 'signatureVersion': 'v4', 'signingName': 'syn',
                                           'uid': 'syn-2020-01-01'},
            'operations': {'Syn': {'name': 'Syn', 'http': {'method': 'POST', 'requestUri': uri},
                                   'input': {'shape': 'In'}}},
            'shapes': shapes}
    ls = {}
    for n, s in shapes.items():
        t = {k: v for k, v in s.items() if k not in ('members', 'member', 'required', 'timestampFormat')}
        if 'members' in s:
            t['members'] = {m: {k: v for k, v in (('shape', r['shape']), ('location', r.get('location')),
                                                  ('name', r.get('locationName', m))) if v}
                            for m, r in s['members'].items()}
            t['order'] = list(s['members'])
        if 'member' in s:
            t['member'] = s['member']['shape']
        if 'timestampFormat' in s:
            t['timestamp_format'] = s['timestampFormat']
        ls[n] = t
    return boto, {'operations': {'Syn': {'method': 'POST', 'uri': uri, 'input': 'In'}}, 'shapes': ls}


MADE_UP_INPUTS = [
    {'Label': 0, 'Greedy': 'x/y z/~', 'QBool': False, 'QDbl': 1.5, 'QList': ['a', 'b c'], 'HBool': True, 'HInt': 3,
     'HList': ['a'], 'BDbl': 0.1, 'BBool': False},
    {'Label': 1700000000, 'Greedy': 'g', 'QTs': 1700000000, 'QTsE': 1700000000, 'HTs': 1700000000,
     'HTsI': 1700000000, 'HList': ['a,b', 'c"d'], 'BTs': 1700000000, 'BTsI': 1700000000, 'BTsH': 1700000000},
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--random', type=int, default=20, help='random inputs per operation (default 20)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--wire', action='store_true', help="also compare the emulator's request log")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    cases = lua(CASES_LUA, 'lua5.4') + [{'op': o, 'input': i} for o, i in EDGE]
    cases += [{'op': op, 'input': random_value(rng, MODEL['operations'][op]['input']['shape'])}
              for op in sorted(MODEL['operations']) for _ in range(args.random)]
    for c in cases:
        c['input'] = as_lists(MODEL['operations'][c['op']]['input']['shape'], c['input'])

    tmp = tempfile.mkdtemp()
    try:
        svc_dir = os.path.join(tmp, 'gameliftstreams', '2018-05-10')
        os.makedirs(svc_dir)
        for f in ('service-2.json', 'endpoint-rule-set-1.json'):
            shutil.copy(os.path.join(ROOT, 'model/botocore', f), svc_dir)
        client = botocore_client(tmp, 'gameliftstreams')
        expected = [botocore_request(client, c['op'], c['input']) for c in cases]

        boto_model, lua_model = made_up_model()
        os.makedirs(os.path.join(tmp, 'syn', '2020-01-01'))
        json.dump(boto_model, open(os.path.join(tmp, 'syn', '2020-01-01', 'service-2.json'), 'w'))
        syn = botocore_client(tmp, 'syn', endpoint_url='https://syn.example')
        syn_expected = [botocore_request(syn, 'Syn', i) for i in MADE_UP_INPUTS]
    finally:
        shutil.rmtree(tmp)

    runs = [(rt, lua(BUILD_LUA, rt, {'cases': cases})) for rt in ('lua5.4', 'luajit')]
    if args.wire:
        runs.append(('wire', lua(WIRE_LUA, 'lua5.4', {'cases': cases})))
    n = 0
    for name, ours in runs:
        for c, b, o in zip(cases, expected, ours):
            if name == 'wire' and 'error' in o:
                continue  # refused by validation (botocore's is off here): nothing to compare
            for d in differences(b, o, 'ClientToken' in c['input']):
                n += 1
                print(name, c['op'], json.dumps(c['input'], ensure_ascii=False)[:160], '\n   ', *d)
    for rt in ('lua5.4', 'luajit'):
        ours = lua(BUILD_LUA, rt, {'cases': [{'op': 'Syn', 'input': i} for i in MADE_UP_INPUTS], 'model': lua_model})
        for i, b, o in zip(MADE_UP_INPUTS, syn_expected, ours):
            for d in differences(b, o, False):
                n += 1
                print(rt, 'made-up', i, '\n   ', *d)
    print(f"{len(cases)} inputs of the 30 operations and {len(MADE_UP_INPUTS)} of a made-up model, "
          f"{len(runs)} runs: {n} differences")
    sys.exit(1 if n else 0)


if __name__ == '__main__':
    main()
