"""Run the bypass suite against a gateway that is already running (the one the gateway_proxy
role provisioned), and record what reaches the upstream with an upstream of its own.

python -m tests.integration.gateway.bypass_run --site DIR --access-log FILE [--port 8443]
prints one JSON line (cases, allowed, failed, the first failures) and exits 1 on any failure.
The gateway must have been rendered today from DIR/policy.json (sunsets are decided by date).
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from datetime import date
from pathlib import Path

from airgapctl.specs.routing import Router
from tests.integration.gateway import bypass
from tests.integration.gateway.bypass_check import check_case
from tests.integration.gateway.bypass_site import UPSTREAM_PORT
from tests.integration.gateway.nginx_process import log_line
from tests.integration.gateway.upstream import RecordingUpstream


def contexts(site: Path, ca: Path, names: set[str | None]) -> dict[str | None, ssl.SSLContext]:
    found = {}
    for who in names:
        context = ssl.create_default_context(cafile=str(ca))
        context.check_hostname = False  # the suite sends other TLS server names on purpose
        if who is not None:
            context.load_cert_chain(str(site / f"{who}.crt"), str(site / f"{who}.key"))
        found[who] = context
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", type=Path, required=True)
    parser.add_argument("--access-log", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8443)
    args = parser.parse_args()
    site = json.loads((args.site / "site.json").read_text())
    policy = json.loads(Path(args.site / "policy.json").read_text())
    router = Router(policy, date.today(), server_names=bypass.SERVER_NAMES)
    cases = bypass.all_cases(policy)
    tls = contexts(args.site, args.site / Path(site["ca"]).name, {case.who for case in cases})
    upstream = RecordingUpstream(UPSTREAM_PORT).start()
    failures, allowed = [], 0
    try:
        for case in cases:
            expected = router.decide(case.request())
            allowed += expected.allowed
            before = len(upstream.recorder.snapshot())
            try:
                reply = bypass.send(case, args.port, tls[case.who])
                line = log_line(args.access_log, reply.headers["x-request-id"])
                check_case(case, expected, reply, line, upstream.recorder.snapshot()[before:], policy)
            except (AssertionError, OSError, KeyError, ValueError) as error:
                failures.append(f"{case.name}: {type(error).__name__} {error}"[:400])
    finally:
        upstream.stop()
    print(json.dumps({"cases": len(cases), "allowed": allowed, "failed": len(failures), "failures": failures[:20]}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
