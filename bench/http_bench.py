# One row of bench/http_bench.sh: boto3 get_stream_session against the loopback nginx, blocking
# (boto3 is synchronous). Debian's boto3 predates GameLift Streams, so the service model is
# loaded from MODEL_DIR (a botocore service-2.json and endpoint-rule-set-1.json).
# Usage: python3 http_bench.py URL SECONDS WARM_SECONDS MODEL_DIR
# Prints: calls=N wall=S cpu=S (the measured window; cpu is time.process_time())
import os
import sys
import tempfile
import time

url, secs, warm, model_dir = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]

# botocore looks for <data path>/<service>/<api version>/service-2.json
data = tempfile.mkdtemp()
api = os.path.join(data, "gameliftstreams", "2018-05-10")
os.makedirs(api)
for f in ("service-2.json", "endpoint-rule-set-1.json"):
    if os.path.exists(os.path.join(model_dir, f)):
        os.symlink(os.path.abspath(os.path.join(model_dir, f)), os.path.join(api, f))
os.environ["AWS_DATA_PATH"] = data

import boto3  # noqa: E402

client = boto3.client("gameliftstreams", region_name="us-west-2", endpoint_url=url,
                      aws_access_key_id="AKIDEXAMPLE",
                      aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                      aws_session_token="IQoJb3JpZ2luX2VjEXAMPLETOKEN")


def loop(deadline):
    n = 0
    while True:
        out = client.get_stream_session(Identifier="sg-1AB2C3De4", StreamSessionIdentifier="ABC123def4567")
        if out["Status"] != "ACTIVE":
            raise SystemExit("unexpected reply")
        n += 1
        if time.monotonic() >= deadline:
            return n


loop(time.monotonic() + warm)
t0, c0 = time.monotonic(), time.process_time()
n = loop(t0 + secs)
print("calls=%d wall=%.6f cpu=%.6f" % (n, time.monotonic() - t0, time.process_time() - c0))
