// One row of bench/http_bench.sh: the AWS JS SDK v3 GetStreamSessionCommand against the
// loopback nginx, N calls in flight (N concurrent async loops over one client whose keep-alive
// agent allows N sockets).
// Usage: node http_bench.js URL IN_FLIGHT SECONDS WARM_SECONDS
// Prints: calls=N wall=S cpu=S (the measured window; cpu from process.cpuUsage())
"use strict";
const http = require("http");
const { GameLiftStreamsClient, GetStreamSessionCommand } = require("@aws-sdk/client-gameliftstreams");
const { NodeHttpHandler } = require("@smithy/node-http-handler");

const [url, inflightArg, secsArg, warmArg] = process.argv.slice(2);
const inflight = Math.max(1, Number(inflightArg));
const secs = Number(secsArg), warm = Number(warmArg);

const client = new GameLiftStreamsClient({
  region: "us-west-2",
  endpoint: url,
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                 sessionToken: "IQoJb3JpZ2luX2VjEXAMPLETOKEN" },
  requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: inflight }) }),
});
const input = { Identifier: "sg-1AB2C3De4", StreamSessionIdentifier: "ABC123def4567" };

async function loop(deadline) {
  let n = 0;
  const one = async () => {
    while (performance.now() < deadline) {
      const out = await client.send(new GetStreamSessionCommand(input));
      if (out.Status !== "ACTIVE") throw new Error("unexpected reply");
      n++;
    }
  };
  const all = [];
  for (let i = 0; i < inflight; i++) all.push(one());
  await Promise.all(all);
  return n;
}

(async () => {
  await loop(performance.now() + warm * 1000);
  const t0 = performance.now(), c0 = process.cpuUsage();
  const n = await loop(t0 + secs * 1000);
  const c = process.cpuUsage(c0);
  console.log(`calls=${n} wall=${((performance.now() - t0) / 1000).toFixed(6)} cpu=${((c.user + c.system) / 1e6).toFixed(6)}`);
  client.destroy();
})().catch((e) => { console.error(e); process.exit(1); });
