// Signatures per second through @smithy/signature-v4 (node crypto hashes) on the bench request.
// Usage: node sign_bench.js BODY_FILE [seconds]
const fs = require("fs");
const { SignatureV4 } = require("@smithy/signature-v4");
const { Hash } = require("@smithy/hash-node");

const body = fs.readFileSync(process.argv[2], "utf8");
const seconds = Number(process.argv[3] || "1");
const signer = new SignatureV4({
  credentials: {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    sessionToken: "IQoJb3JpZ2luX2VjEBEaCXVzLXdlc3QtMiJHMEUCIQDbenchmarktokenbenchmarktokenbenchmarktoken",
  },
  region: "us-west-2",
  service: "gameliftstreams",
  sha256: Hash.bind(null, "sha256"),
  applyChecksum: false, // sign the same headers as the others (no x-amz-content-sha256)
});
const date = new Date();

function request() {
  return {
    method: "POST", protocol: "https:", hostname: "gameliftstreams.us-west-2.api.aws",
    path: "/streamgroups/sg-1AB2C3De4/streamsessions", query: {},
    headers: { "content-type": "application/json", host: "gameliftstreams.us-west-2.api.aws" },
    body,
  };
}

async function round(limit) {
  let n = 0;
  const t0 = process.cpuUsage();
  const used = () => { const u = process.cpuUsage(t0); return (u.user + u.system) / 1e6; };
  do {
    for (let i = 0; i < 500; i++) await signer.sign(request(), { signingDate: date });
    n += 500;
  } while (used() < limit);
  return used() / n;
}

(async () => {
  const first = await signer.sign(request(), { signingDate: date });
  if (!first.headers.authorization) throw new Error("no authorization");
  await round(0.2);
  let best = Infinity;
  for (let i = 0; i < 3; i++) best = Math.min(best, await round(seconds));
  console.log("smithy " + (best * 1e9).toFixed(1));
})();
