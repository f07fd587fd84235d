#!/usr/bin/python3
"""Reload nginx.service and wait until the old workers no longer accept connections, so that
what follows (the self-test) meets the new configuration and not an old worker."""

import pathlib
import subprocess
import sys
import time

TIMEOUT_SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 60


def workers(master: str) -> set[str]:
    children = pathlib.Path(f"/proc/{master}/task/{master}/children")
    return set(children.read_text().split()) if children.exists() else set()


def accepting(pid: str) -> bool:
    """An old worker still takes connections until it retitles itself "shutting down" (or exits)."""
    try:
        return b"shutting down" not in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


master = pathlib.Path(sys.argv[1]).read_text().strip()
before = workers(master)
subprocess.run(["systemctl", "reload", "nginx"], check=True)
deadline = time.monotonic() + TIMEOUT_SECONDS
while time.monotonic() < deadline:
    if workers(master) - before and not any(accepting(pid) for pid in before):
        sys.exit(0)
    time.sleep(0.05)
sys.exit(f"nginx did not replace its workers within {TIMEOUT_SECONDS:.0f} s of the reload")
