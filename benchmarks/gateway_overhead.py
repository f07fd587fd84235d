"""What the rendered gateway costs per request, side by side with a bare NGINX proxy on loopback.

Run by hand (never from the test suite):

    .venv/bin/python -m benchmarks.gateway_overhead [--requests 32000] [--rounds 5] [--sizes 200,2100]
        [--access-log-buffer 64k|off] [--workload get,post]

Three NGINX instances on 127.0.0.1: a static upstream (one worker answering a fixed small body to
any method, so it is not the bottleneck); the gateway rendered from a policy of SIZE operations
(mutual TLS, JSON access log on, written in 64 KiB batches as the role deploys it unless
--access-log-buffer off; rate limits present but generous enough never to trigger) plus the two
POST operations below; and a bare reverse proxy with the same TLS and client-certificate settings
in front of the same upstream (no policy, no access log). Both proxies run 2 workers. ApacheBench
(``ab -k -c 32``, presenting a client certificate with -E) runs two workloads, both by default
(``--workload get`` or ``--workload post`` runs one):

get: for each size, a GET of the first declared operation, a GET of the last one (policy order:
the route it takes is tried after every other GET route), and a GET of an undeclared path (404
from the gateway, served by the bare proxy). These operations have no request checks (large_policy
gives them validation enforce but no parameters or body schema), so they show that operations
without checks are unchanged by the checks of others in the same policy: before timing, the
script checks that the validated POST is the policy's one checked operation and that the rendered
server.conf has exactly one js_content, that of its body class. Each case runs ROUNDS times
against both, alternating which goes first; the medians are printed with the gateway/bare ratios.

post: ``ab -p BODY -T application/json`` sends a valid JSON body of about 1 KB (an order,
benchmarks/gateway_post_body.py: 20 properties, a nested object, arrays, formats, enums, a oneOf
and $refs) to (a) "validated", POST /bench/orders, whose body is checked against that schema in
NGINX's JavaScript module (validation enforce); (b) "off", POST /bench/orders-unchecked, the same
body rule with validation off; (c) "bare", the bare proxy, same path as (a). Before timing, the
valid body must reach the upstream (its 200 and body) through all three, and a body invalid in
one place must get 400 from (a) and 200 from (b). Each target runs ROUNDS times, rotating which
goes first; the medians are printed with the validated/bare, off/bare and validated/off ratios.

CPU per request is the NGINX workers' user+system time (/proc/PID/stat) over the run, divided by
the requests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from airgapctl.gateway.model import TLS12_CIPHERS, build_gateway_model
from airgapctl.gateway.render import RenderOptions, render_gateway
from airgapctl.specs.routing import Request, Router
from benchmarks import gateway_post_body as orders
from tests.integration.gateway import pki
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.client import GatewayClient
from tests.integration.gateway.nginx_process import RunningNginx, free_port

CONCURRENCY = 32
WARM_UP = 2_000  # requests before a case's timed runs
WORKERS = 2
# A client from the middle of large_policy's 100 (identity is matched in client order), given
# every role so that any operation is callable.
BENCH_CLIENT = "client50"
# Rates and bursts large_policy uses, scaled by this (a burst of b becomes (b + 1) * RATE_SCALE: NGINX
# counts in milliseconds, so a burst of 0 refuses a second request within the same one): as many
# zones as before, none ever reached at loopback speed.
RATE_SCALE = 10_000
UNDECLARED_PATH = "/svc0/undeclared/1"
UPSTREAM_BODY = '{"upstream":"static"}'
TICKS = os.sysconf("SC_CLK_TCK")
AB_HINT = "ab (ApacheBench) is not installed: apt-get install -y apache2-utils"
JSON = "application/json"
WORKLOADS = ("get", "post")
# The POST workload's API and its two operations: the same body rule (a required JSON body of at
# most POST_MAX_BYTES), checked against gateway_post_body.ORDER or with validation off.
POST_API, POST_BASE, POST_ROLE = "bench", "/bench", "role0"
VALIDATED_PATH = POST_BASE + "/orders"
UNCHECKED_PATH = POST_BASE + "/orders-unchecked"
POST_MAX_BYTES = 4096
# The POST targets, in report order: (a) checked, (b) validation off, (c) the bare proxy, same path as (a).
POST_TARGETS = ("validated", "off", "bare")


@dataclass
class Run:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # NGINX workers' CPU per request


@dataclass
class Case:
    name: str
    path: str
    status: int  # what the gateway must answer (the bare proxy always serves)
    body: Path | None = None  # POSTed as application/json (ab -p); None: a GET


def _common_http(prefix: Path) -> str:
    temp = prefix / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    paths = "\n".join(
        f"    {kind}_temp_path {temp}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"{paths}\n    access_log off;\n    server_tokens off;\n"


def write_upstream(prefix: Path, port: int) -> None:
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(
        f"""worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
{_common_http(prefix)}
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;
        location / {{ return 200 '{UPSTREAM_BODY}'; }}
    }}
}}
"""
    )


def write_bare_proxy(prefix: Path, port: int, upstream_port: int, server: pki.Issued, client_ca: Path) -> None:
    """A plain reverse proxy with the gateway's TLS and client-certificate settings."""
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(
        f"""worker_processes {WORKERS};
pid logs/nginx.pid;
error_log logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
{_common_http(prefix)}
    ssl_certificate {server.cert};
    ssl_certificate_key {server.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {":".join(TLS12_CIPHERS)};
    ssl_prefer_server_ciphers on;
    ssl_session_cache off;
    ssl_session_tickets off;
    ssl_client_certificate {client_ca};
    ssl_verify_client on;
    ssl_verify_depth 2;
    upstream static {{
        server 127.0.0.1:{upstream_port};
        keepalive {CONCURRENCY};
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        location / {{
            proxy_pass http://static;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
    )


def bench_policy(operations: int, upstream_url: str) -> dict[str, Any]:
    document = pb.large_policy(operations, upstream_url)
    for item in (*document["roles"], *document["operations"], *document["clients"]):
        if item["rate_limit"]:
            limit = item["rate_limit"]
            item["rate_limit"] = pb.rate(limit["per_second"] * RATE_SCALE, (limit["burst"] + 1) * RATE_SCALE)
    client = next(c for c in document["clients"] if c["name"] == BENCH_CLIENT)
    client["roles"] = sorted(role["name"] for role in document["roles"])
    # The POST workload's operations, on an API of their own (built whichever workload runs, so
    # that the GETs are always measured with request checks present in the policy).
    body = pb.json_body(POST_MAX_BYTES, schema=orders.ORDER, defs=orders.DEFS, required=True)
    post = [
        pb.operation(POST_API, POST_BASE, "createOrder", "POST", "/orders", [POST_ROLE], body=body),
        pb.operation(
            POST_API, POST_BASE, "createOrderUnchecked", "POST", "/orders-unchecked", [POST_ROLE], body=body,
            validation="off",
        ),
    ]  # fmt: skip
    document["apis"] = sorted(
        [*document["apis"], pb.api(POST_API, POST_BASE, f"{upstream_url}/{POST_API}")], key=lambda a: a["name"]
    )
    document["operations"] = sorted([*document["operations"], *post], key=pb.priority)
    document["policy_id"] = pb.policy_id(document)
    return document


def check_javascript_paths(policy: dict[str, Any], out: Path) -> None:
    """Only the validated POST takes the JavaScript path: it is the one checked operation (the GETs
    of large_policy have validation enforce but no parameters or body schema, so no checks), and
    server.conf has one js_content per checked body class."""
    model = build_gateway_model(policy, date.today())
    index = {op["id"]: number for number, op in enumerate(policy["operations"], start=1)}
    checked = sorted(model["request_checks"]["operations"])
    if checked != [index[f"{POST_API}.createOrder"]]:
        names = [op["id"] for op in policy["operations"] if index[op["id"]] in checked]
        sys.exit(f"expected only {POST_API}.createOrder to have request checks, not {names}")
    classes = sum(1 for body_class in model["body_classes"] if body_class["checked"])
    js_content = len(re.findall(r"^\s*js_content\s", (out / "gateway" / "server.conf").read_text(), re.MULTILINE))
    if not js_content == classes == 1:
        sys.exit(
            f"{out}/gateway/server.conf: {js_content} js_content for {classes} checked body classes, expected 1 and 1"
        )
    for warning in model["request_checks"]["warnings"]:
        print(f"  request checks: {warning}", file=sys.stderr)


def cases(policy: dict[str, Any]) -> list[Case]:
    """First and last served GET in policy order, and an undeclared path; checked against the reference router."""
    router = Router(policy)
    served = []
    for op in policy["operations"]:
        path = op["gateway_path"].replace("{id}", "42")
        if op["method"] == "GET" and router.decide(Request("GET", path, BENCH_CLIENT)).allowed:
            served.append(path)
    chosen = [Case("first GET", served[0], 200), Case("last GET", served[-1], 200), Case("404", UNDECLARED_PATH, 404)]
    for case in chosen:
        decision = router.decide(Request("GET", case.path, BENCH_CLIENT))
        assert (decision.status or 200) == case.status, (case, decision)
    return chosen


def worker_ticks(master: int) -> int:
    """User+system clock ticks of the master's children (the workers) so far."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total


def ab(
    port: int, path: str, requests: int, client_pem: Path, csv: Path, time_limit: int, body: Path | None = None
) -> tuple[int, float, int]:
    """(complete, requests/s, non-2xx) of one ApacheBench run; percentiles go to ``csv``. With
    ``body``, each request POSTs that file as application/json."""
    post = ["-p", str(body), "-T", JSON] if body is not None else []
    argv = ["ab", "-q", "-k", "-c", str(CONCURRENCY), "-t", str(time_limit), "-n", str(requests),
            "-E", str(client_pem), "-e", str(csv), *post, f"https://127.0.0.1:{port}{path}"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=time_limit + 30)
    if done.returncode != 0:
        sys.exit(f"ab failed: {done.stderr.strip() or done.stdout[-2000:]}")
    out = done.stdout

    def number(label: str, default: str | None = None) -> str:
        match = re.search(rf"^{label}:\s+([0-9.]+)", out, re.MULTILINE)
        if match is None and default is None:
            sys.exit(f"ab printed no {label!r}:\n{out}")
        return match.group(1) if match else default

    if int(number("Failed requests")):
        sys.exit(f"ab: failed requests against port {port}:\n{out}")
    return int(number("Complete requests")), float(number("Requests per second")), int(number("Non-2xx responses", "0"))


def percentiles(csv: Path) -> tuple[float, float]:
    rows = dict(line.split(",") for line in csv.read_text().splitlines()[1:])
    return float(rows["50"]), float(rows["99"])


def measure(
    nginx: RunningNginx, case: Case, expect: int, args: argparse.Namespace, client_pem: Path, requests: int = 0
) -> Run:
    csv = Path(args.workdir) / "ab.csv"
    before = worker_ticks(nginx.process.pid)
    requests = requests or args.requests
    complete, per_second, non_2xx = ab(nginx.port, case.path, requests, client_pem, csv, args.time_limit, case.body)
    ticks = worker_ticks(nginx.process.pid) - before
    if non_2xx != (complete if expect >= 300 else 0):
        sys.exit(f"{case.name} on port {nginx.port}: {non_2xx} of {complete} answers not the expected {expect}")
    p50, p99 = percentiles(csv)
    return Run(complete, per_second, p50, p99, ticks / TICKS * 1e6 / complete)


def median_run(runs: list[Run]) -> Run:
    return Run(
        sum(r.requests for r in runs),
        statistics.median(r.per_second for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        statistics.median(r.cpu_us for r in runs),
    )


def probe(port: int, case: Case, expect: int, ca: Path, identity: pki.Issued, body: bytes | None = None) -> None:
    """One request as the case's (or, with ``body``, POSTing that): ``expect`` must answer, and a
    200 must be the upstream's own."""
    if body is None and case.body is not None:
        body = case.body.read_bytes()
    method, headers = ("GET", {}) if body is None else ("POST", {"Content-Type": JSON})
    reply = GatewayClient(port, ca, identity).request(method, case.path, body, headers)
    if reply.status != expect or (expect == 200 and reply.body.decode(errors="replace") != UPSTREAM_BODY):
        sys.exit(f"{case.name}: port {port} answered {reply.status}, not {expect}: {reply.body[:300]!r}")


def post_cases(work: Path) -> dict[str, Case]:
    """The POST workload's cases by target, with the valid body written for ab -p."""
    body = work / "order.json"
    body.write_bytes(orders.encode(orders.VALID_ORDER))
    return {
        "validated": Case("validated", VALIDATED_PATH, 200, body),
        "off": Case("off", UNCHECKED_PATH, 200, body),
        "bare": Case("bare", VALIDATED_PATH, 200, body),
    }


def measure_post(
    gateway: RunningNginx, bare: RunningNginx, args: argparse.Namespace, ca: Path, client: pki.Issued, client_pem: Path
) -> dict[str, Run]:
    """The three POST targets, after probing that the valid body passes all three and the invalid one
    is refused by the validated operation only; ROUNDS each, rotating which goes first."""
    posts = post_cases(Path(args.workdir))
    targets = {"validated": gateway, "off": gateway, "bare": bare}
    invalid = orders.encode(orders.invalid_order())
    for name in POST_TARGETS:
        probe(targets[name].port, posts[name], 200, ca, client)
    probe(gateway.port, posts["validated"], 400, ca, client, invalid)
    probe(gateway.port, posts["off"], 200, ca, client, invalid)
    for name in POST_TARGETS:
        measure(targets[name], posts[name], 200, args, client_pem, WARM_UP)
    runs: dict[str, list[Run]] = {name: [] for name in POST_TARGETS}
    for round_number in range(args.rounds):
        shift = round_number % len(POST_TARGETS)
        for name in POST_TARGETS[shift:] + POST_TARGETS[:shift]:
            runs[name].append(measure(targets[name], posts[name], 200, args, client_pem))
    return {name: median_run(runs[name]) for name in POST_TARGETS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=32_000, help="per ab run (at most 1000 per connection)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="200,2100", help="policy sizes in operations, comma-separated")
    parser.add_argument("--time-limit", type=int, default=60, help="seconds at most per ab run")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--access-log-buffer",
        default="64k",
        help="the gateway's access-log batch size (the role's default); 'off' writes each line",
    )
    parser.add_argument(
        "--workload", default=",".join(WORKLOADS), help="comma-separated: get (the GET cases), post (the JSON body)"
    )
    args = parser.parse_args(argv)
    workloads = {name.strip() for name in args.workload.split(",") if name.strip()}
    if not workloads or workloads - set(WORKLOADS):
        parser.error(f"--workload: one or more of {', '.join(WORKLOADS)}, not {args.workload!r}")
    if shutil.which("ab") is None:
        sys.exit(AB_HINT)
    if args.requests > 1000 * CONCURRENCY:
        sys.exit(f"--requests above {1000 * CONCURRENCY} would make NGINX close connections (keepalive_requests)")
    sizes = [int(size) for size in args.sizes.split(",")]
    # Stopped with SIGTERM, still stop the NGINX instances started here (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="gateway-bench-")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    started: list[RunningNginx] = []
    try:
        ca = pki.authority(work, "bench-ca")
        server = pki.issue(ca, work, "server", "CN=127.0.0.1,O=Example", server_ip="127.0.0.1")
        client = pki.issue(ca, work, "client", f"CN={BENCH_CLIENT},OU=apps,O=Example")
        client_pem = work / "client.pem"
        client_pem.write_bytes(client.cert.read_bytes() + client.key.read_bytes())

        upstream_port, bare_port = free_port(), free_port()
        write_upstream(work / "upstream", upstream_port)
        started.append(RunningNginx(work / "upstream", upstream_port))
        write_bare_proxy(work / "bare", bare_port, upstream_port, server, ca.cert_path)
        bare = RunningNginx(work / "bare", bare_port)
        started.append(bare)

        results: list[tuple[int, Case, Run, Run]] = []
        post_results: list[tuple[int, dict[str, Run]]] = []
        for size in sizes:
            policy = bench_policy(size, f"http://127.0.0.1:{upstream_port}/v")
            port = free_port()
            options = RenderOptions(
                listen=f"127.0.0.1:{port}", server_cert=str(server.cert), server_key=str(server.key),
                client_ca=str(ca.cert_path), credentials_dir=str(work / "credentials"), now=date.today(),
                worker_processes=str(WORKERS),
                access_log_buffer=None if args.access_log_buffer == "off" else args.access_log_buffer,
            )  # fmt: skip
            render_gateway(policy, work / f"gateway-{size}", options)
            check_javascript_paths(policy, work / f"gateway-{size}")
            gateway = RunningNginx(work / f"gateway-{size}", port)
            started.append(gateway)
            for case in cases(policy) if "get" in workloads else []:
                probe(port, case, case.status, ca.cert_path, client)
                probe(bare_port, case, 200, ca.cert_path, client)
                # Warm both: connections to the upstream, the workers' caches.
                measure(gateway, case, case.status, args, client_pem, WARM_UP)
                measure(bare, case, 200, args, client_pem, WARM_UP)
                runs: dict[str, list[Run]] = {"gateway": [], "bare": []}
                for round_number in range(args.rounds):
                    order = ("gateway", "bare") if round_number % 2 == 0 else ("bare", "gateway")
                    for which in order:
                        target, expect = (gateway, case.status) if which == "gateway" else (bare, 200)
                        runs[which].append(measure(target, case, expect, args, client_pem))
                results.append((size, case, median_run(runs["gateway"]), median_run(runs["bare"])))
                print(f"  measured {size} operations, {case.name}", file=sys.stderr, flush=True)
            if "post" in workloads:
                post_results.append((size, measure_post(gateway, bare, args, ca.cert_path, client, client_pem)))
                print(f"  measured {size} operations, POST", file=sys.stderr, flush=True)
            gateway.stop()
            started.remove(gateway)
        if results:
            report(results, args)
        if post_results:
            report_post(post_results, args)
    finally:
        for nginx in reversed(started):
            nginx.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results: list[tuple[int, Case, Run, Run]], args: argparse.Namespace) -> None:
    print(
        f"\nab -k -c {CONCURRENCY}, {args.requests} requests per run, median of {args.rounds} rounds; "
        f"{WORKERS} workers each; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'ops':>5} {'case':<10} {'gw req/s':>9} {'bare req/s':>10} {'ratio':>6} "
        f"{'gw p50/p99 ms':>14} {'bare p50/p99 ms':>16} {'p99 x':>6} {'gw CPU us':>9} {'bare CPU us':>11} {'CPU x':>6}"
    )
    print(header)
    for size, case, gw, bare in results:
        print(
            f"{size:>5} {case.name:<10} {gw.per_second:>9.0f} {bare.per_second:>10.0f} "
            f"{gw.per_second / bare.per_second:>6.2f} {gw.p50_ms:>6.2f}/{gw.p99_ms:<7.2f} "
            f"{bare.p50_ms:>7.2f}/{bare.p99_ms:<8.2f} {gw.p99_ms / bare.p99_ms:>6.2f} "
            f"{gw.cpu_us:>9.1f} {bare.cpu_us:>11.1f} {gw.cpu_us / bare.cpu_us:>6.2f}"
        )
    by_size: dict[int, dict[str, Run]] = {}
    for size, case, gw, _ in results:
        by_size.setdefault(size, {})[case.name] = gw
    for size, runs in by_size.items():
        first, last, missing = runs["first GET"], runs["last GET"], runs["404"]
        print(
            f"{size} operations: last/first GET {last.per_second / first.per_second:.2f}x req/s, "
            f"{last.cpu_us / first.cpu_us:.2f}x CPU; 404/first GET {missing.cpu_us / first.cpu_us:.2f}x CPU"
        )


def report_post(results: list[tuple[int, dict[str, Run]]], args: argparse.Namespace) -> None:
    size = len(orders.encode(orders.VALID_ORDER))
    print(
        f"\nPOST {size}-byte JSON body (ab -k -c {CONCURRENCY} -p -T {JSON}), {args.requests} requests per run, "
        f"median of {args.rounds} rounds; {WORKERS} workers each; {os.cpu_count()} CPUs\n"
        f"validated: {VALIDATED_PATH}, checked against a {len(orders.ORDER['properties'])}-property schema "
        f"(validation enforce); off: {UNCHECKED_PATH}, same body rule, validation off; bare: the bare proxy"
    )
    print(
        f"{'ops':>5} {'target':<10} {'req/s':>7} {'x bare':>6} {'x off':>6} {'p50/p99 ms':>14} "
        f"{'p99 x bare':>10} {'CPU us':>7} {'CPU x bare':>10} {'CPU x off':>9}"
    )
    for ops, runs in results:
        bare, off = runs["bare"], runs["off"]
        for name in POST_TARGETS:
            run = runs[name]
            # The bare proxy has no "off" to be compared with.
            rps_off, cpu_off = (
                (f"{run.per_second / off.per_second:.2f}", f"{run.cpu_us / off.cpu_us:.2f}")
                if name != "bare"
                else ("-", "-")
            )
            print(
                f"{ops:>5} {name:<10} {run.per_second:>7.0f} {run.per_second / bare.per_second:>6.2f} {rps_off:>6} "
                f"{run.p50_ms:>6.2f}/{run.p99_ms:<7.2f} {run.p99_ms / bare.p99_ms:>10.2f} {run.cpu_us:>7.1f} "
                f"{run.cpu_us / bare.cpu_us:>10.2f} {cpu_off:>9}"
            )
    for ops, runs in results:
        validated, off, bare = (runs[name] for name in POST_TARGETS)
        print(
            f"{ops} operations: validated/off {validated.per_second / off.per_second:.2f}x req/s, "
            f"{validated.cpu_us / off.cpu_us:.2f}x CPU ({validated.cpu_us - off.cpu_us:+.1f} us per request "
            f"for the check); validated/bare {validated.per_second / bare.per_second:.2f}x req/s, "
            f"off/bare {off.per_second / bare.per_second:.2f}x req/s"
        )


if __name__ == "__main__":
    sys.exit(main())
