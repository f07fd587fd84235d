"""Keep requests in flight for a while, as one client; print the tally.

load.py SECONDS THREADS: every answer must be 200; a refused, reset or failed request is counted.
"""

import http.client
import json
import ssl
import sys
import threading
import time

seconds, threads = float(sys.argv[1]), int(sys.argv[2])
tally = {"ok": 0, "failed": 0, "errors": []}
lock = threading.Lock()


def run(deadline: float) -> None:
    # A new connection per request: a keep-alive connection the old workers close while idle is
    # a race every client retries; a request sent and not answered is what must never happen.
    context = ssl.create_default_context(cafile="/root/probe/ca.crt")
    context.check_hostname = False
    context.load_cert_chain("/root/probe/frontdesk.crt", "/root/probe/frontdesk.key")
    while time.monotonic() < deadline:
        connection = http.client.HTTPSConnection("127.0.0.1", 8443, context=context, timeout=10)
        try:
            connection.request("GET", "/petstore/pets", headers={"Host": "127.0.0.1", "Connection": "close"})
            response = connection.getresponse()
            response.read()
            outcome = None if response.status == 200 else f"status {response.status}"
        except (OSError, http.client.HTTPException) as error:
            outcome = repr(error)
        finally:
            connection.close()
        with lock:
            if outcome is None:
                tally["ok"] += 1
            else:
                tally["failed"] += 1
                tally["errors"].append(outcome)


deadline = time.monotonic() + seconds
workers = [threading.Thread(target=run, args=(deadline,)) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
tally["errors"] = tally["errors"][:10]
print(json.dumps(tally))
