"""One HTTPS request to the gateway on loopback, inside the instance; prints the answer as JSON.

probe.py METHOD TARGET [--cert NAME] [--host H] [--header N:V]... [--body TEXT]
"""

import argparse
import http.client
import json
import ssl

parser = argparse.ArgumentParser()
parser.add_argument("method")
parser.add_argument("target")
parser.add_argument("--cert")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--header", action="append", default=[])
parser.add_argument("--body")
parser.add_argument("--port", type=int, default=8443)
parser.add_argument("--dir", default="/root/probe")
args = parser.parse_args()

context = ssl.create_default_context(cafile=f"{args.dir}/ca.crt")
context.check_hostname = False  # the Host header below is the case's own
if args.cert:
    context.load_cert_chain(f"{args.dir}/{args.cert}.crt", f"{args.dir}/{args.cert}.key")
connection = http.client.HTTPSConnection("127.0.0.1", args.port, context=context, timeout=10)
connection.putrequest(args.method, args.target, skip_host=True, skip_accept_encoding=True)
connection.putheader("Host", args.host)
for header in args.header:
    name, value = header.split(":", 1)
    connection.putheader(name, value.strip())
body = args.body.encode() if args.body is not None else b""
if args.body is not None:
    connection.putheader("Content-Length", str(len(body)))
connection.endheaders(body)
response = connection.getresponse()
payload = response.read().decode("utf-8", "replace")
print(json.dumps({"status": response.status, "headers": dict(response.getheaders()), "body": payload}))
