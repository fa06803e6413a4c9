"""Signatures per second through botocore's SigV4Auth on the bench request.
Usage: python3 sign_bench.py BODY_FILE [seconds]"""
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

body = open(sys.argv[1], "rb").read()
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    "IQoJb3JpZ2luX2VjEBEaCXVzLXdlc3QtMiJHMEUCIQDbenchmarktokenbenchmarktokenbenchmarktoken")
auth = SigV4Auth(creds, "gameliftstreams", "us-west-2")
url = "https://gameliftstreams.us-west-2.api.aws/streamgroups/sg-1AB2C3De4/streamsessions"


def one():
    req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    auth.add_auth(req)
    return req


def round_(limit):
    n, t0 = 0, time.process_time()
    while True:
        for _ in range(200):
            one()
        n += 200
        if time.process_time() - t0 >= limit:
            return (time.process_time() - t0) / n


assert one().headers["Authorization"]
round_(0.2)
best = min(round_(seconds) for _ in range(3))
print("botocore %.1f" % (best * 1e9))
