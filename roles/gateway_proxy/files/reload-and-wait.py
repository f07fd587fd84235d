#!/usr/bin/python3
"""Reload nginx.service and wait until a worker of the new configuration runs, so that what
follows (the self-test) meets the new configuration and not an old worker."""

import pathlib
import subprocess
import sys
import time


def workers(master: str) -> set[str]:
    children = pathlib.Path(f"/proc/{master}/task/{master}/children")
    return set(children.read_text().split()) if children.exists() else set()


master = pathlib.Path(sys.argv[1]).read_text().strip()
before = workers(master)
subprocess.run(["systemctl", "reload", "nginx"], check=True)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if workers(master) - before:
        # The master tells the old workers to stop accepting right after it starts the new ones.
        time.sleep(0.2)
        sys.exit(0)
    time.sleep(0.05)
sys.exit("nginx did not start workers of the new configuration within 10 s")
