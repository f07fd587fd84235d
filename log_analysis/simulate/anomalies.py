"""Incidents of the behaviour detectors: each function picks a subject and a time and returns its incidents."""

from __future__ import annotations

import time

from airgapctl.contracts.access_log import Reason
from log_analysis.simulate.events import Event, escaped, refuse
from log_analysis.simulate.incidents import PROBE_PATHS, Incident, SimContext, burst, normal_ok, served_to, spread
from log_analysis.simulate.profiles import WINDOW, SimOperation, expected_requests


def rate_spike(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("service",), 0, 10)
    if client is None:
        return []
    start, end = ctx.at(0, 10.5), ctx.at(0, 11.0)
    per_window = max(60, int(client.rate(10, ctx.start_weekday) * 12))
    count = per_window * int((end - start) // WINDOW)
    return [
        Incident(
            "rate_spike",
            {"client": client.name},
            start,
            end,
            f"{per_window} requests per 5 min",
            burst(ctx, client, count, start, end),
        )
    ]


def new_client(ctx: SimContext) -> list[Incident]:
    return [*_dormant_identity(ctx), *_new_address(ctx)]


def _dormant_identity(ctx: SimContext) -> list[Incident]:
    dormant = ctx.client(("office", "service"), 0, 13, busiest=False)
    if dormant is None:
        return []
    ctx.dormant.add(dormant.name)
    start, end = ctx.at(0, 13.0), ctx.at(0, 14.0)
    return [
        Incident(
            "new_client",
            {"client": dormant.name},
            start,
            end,
            "dormant identity",
            burst(ctx, dormant, 40, start, end),
            dormant_client=dormant.name,
        )
    ]


def _new_address(ctx: SimContext) -> list[Incident]:
    known = ctx.client(("service",), 1, 15)
    if known is None:
        return []
    addr, start, end = "10.99.7.21", ctx.at(1, 15.0), ctx.at(1, 15.5)

    def move(event: Event) -> None:
        event.addr = addr

    return [
        Incident(
            "new_client",
            {"remote_addr": addr},
            start,
            end,
            "known identity, new address",
            burst(ctx, known, 25, start, end, move),
        )
    ]


def error_ratio(ctx: SimContext) -> list[Incident]:
    return [*_failing_operation(ctx), *_misbehaving_client(ctx)]


def _failing_operation(ctx: SimContext) -> list[Incident]:
    popular = popular_operation(ctx, exclude=set(ctx.used_operations))
    ctx.used_operations.add(popular.id)
    start, end, rng = ctx.at(0, 16.0), ctx.at(0, 17.0), ctx.rng

    def fail(event: Event) -> None:
        if rng.random() < 0.5:
            event.status, event.reason, event.bytes_out = 502, Reason.UPSTREAM_ERROR, 180

    return [
        Incident(
            "error_ratio",
            {"operation": popular.id},
            start,
            end,
            "upstream failing half the time",
            change=fail,
            applies=lambda e: e.operation == popular.id and e.reason == Reason.OK,
        )
    ]


def _misbehaving_client(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("service",), 1, 9)
    if client is None:
        return []
    start, end, rng = ctx.at(1, 9.0), ctx.at(1, 10.0), ctx.rng

    def reject(event: Event) -> None:
        if rng.random() < 0.5:
            event.status, event.bytes_out = 400, 170

    return [
        Incident(
            "error_ratio",
            {"client": client.name},
            start,
            end,
            "client sends bad requests",
            change=reject,
            applies=served_to(client),
        )
    ]


def probing(ctx: SimContext) -> list[Incident]:
    return [*_client_scan(ctx), *_scanner_without_certificate(ctx)]


def _client_scan(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("office", "service"), 0, 11)
    if client is None:
        return []
    start, end, rng = ctx.at(0, 11.0), ctx.at(0, 11.25), ctx.rng
    prefixes = sorted({s.op["gateway_path"].split("/")[1] for s in ctx.operations})
    paths = [f"/{p}{probe}" for p in prefixes for probe in PROBE_PATHS] + [
        f"/{p}/..%2f..%2fetc/passwd" for p in prefixes
    ]
    paths = (paths * 3)[:150]

    def extra(w: float) -> list[Event]:
        events = []
        for t in spread(len(paths), start, end, w, rng):
            path = paths[int((t - start) / (end - start) * len(paths)) % len(paths)] + f"?n={rng.randint(1, 9)}"
            event = normal_ok(ctx, t, client)
            canonical = "%2f" not in path
            refuse(
                event,
                404 if canonical else 400,
                Reason.UNKNOWN_PATH if canonical else Reason.NON_CANONICAL_PATH,
                rng.choice(("GET", "GET", "POST")),
                escaped(path),
                "",
            )
            events.append(event)
        return events

    return [Incident("probing", {"client": client.name}, start, end, "scan of unknown paths", extra)]


def _scanner_without_certificate(ctx: SimContext) -> list[Incident]:
    """A scanner presenting no client certificate: every request refused before routing, 500 paths in
    ten minutes. It is probing, not a client failing to authenticate."""
    addr, start, end, rng = "10.66.9.13", ctx.at(1, 3.0), ctx.at(1, 3.0 + 10 / 60), ctx.rng
    prefixes = ["", *sorted({"/" + s.op["gateway_path"].split("/")[1] for s in ctx.operations})]
    suffixes = ("", ".bak", ".old", ".orig", "~", ".swp", "/", "/index.html")
    paths = [f"{prefix}{probe}{suffix}" for suffix in suffixes for probe in PROBE_PATHS for prefix in prefixes][:500]

    def scan(w: float) -> list[Event]:
        events = []
        for t in spread(len(paths), start, end, w, rng):
            path = paths[min(len(paths) - 1, int((t - start) / (end - start) * len(paths)))]
            events.append(
                Event(t, addr, None, "GET", escaped(path), "", Reason.NO_CLIENT_CERT, 401, 180, 150, 0.0, ctx.policy_id)
            )
        return events

    note = "scanner without a client certificate"
    return [Incident("probing", {"remote_addr": addr}, start, end, note, scan)]


def auth_failures(ctx: SimContext) -> list[Incident]:
    return [*_no_certificate(ctx), *_expired_certificate(ctx)]


def _no_certificate(ctx: SimContext) -> list[Incident]:
    addr, start, end, rng = "10.66.3.7", ctx.at(0, 20.0), ctx.at(0, 20.2), ctx.rng

    def no_cert(w: float) -> list[Event]:
        return [
            Event(
                t,
                addr,
                None,
                "GET",
                rng.choice(("/", "/pets/pets", "/admin")),
                "",
                Reason.NO_CLIENT_CERT,
                401,
                180,
                150,
                0.0,
                ctx.policy_id,
            )
            for t in spread(300, start, end, w, rng)
        ]

    return [Incident("auth_failures", {"remote_addr": addr}, start, end, "no certificate, brute force", no_cert)]


def _expired_certificate(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("service",), 1, 12)
    if client is None:
        return []
    start, end = ctx.at(1, 12.0), ctx.at(1, 13.0)

    def expired(event: Event) -> None:
        refuse(event, 400, Reason.BAD_CLIENT_CERT, event.method, event.uri, "")

    # A client whose certificate expired retries in a loop: about 30 failed handshakes per 5 minutes.
    return [
        Incident(
            "auth_failures",
            {"remote_addr": client.addresses[0]},
            start,
            end,
            "expired certificate",
            burst(ctx, client, 360, start, end),
            expired,
            lambda e: e.client is client and e.addr == client.addresses[0],
        )
    ]


def off_hours(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("office",), 0, 10)
    if client is None:
        return []
    start, end = ctx.at(0, 2.5), ctx.at(0, 3.25)
    return [
        Incident(
            "off_hours",
            {"client": client.name},
            start,
            end,
            "office client active at night",
            burst(ctx, client, 45, start, end),
        )
    ]


def exfiltration(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("service",), 1, 14)
    if client is None:
        return []
    start, end, rng = ctx.at(1, 14.0), ctx.at(1, 15.0), ctx.rng

    def bulk(event: Event) -> None:
        event.bytes_out = int(event.bytes_out * rng.uniform(30, 60))

    return [
        Incident(
            "exfiltration",
            {"client": client.name},
            start,
            end,
            "responses 30-60x their usual size",
            burst(ctx, client, 12, start, end),
            bulk,
            served_to(client),
        )
    ]


def latency(ctx: SimContext) -> list[Incident]:
    target = popular_operation(ctx, exclude=set(ctx.used_operations))
    ctx.used_operations.add(target.id)
    start, end, rng = ctx.at(1, 10.0), ctx.at(1, 11.0), ctx.rng

    def slow(event: Event) -> None:
        event.request_time *= rng.uniform(6, 10)

    return [
        Incident(
            "latency",
            {"operation": target.id},
            start,
            end,
            "upstream 6-10x slower",
            change=slow,
            applies=lambda e: e.operation == target.id and e.status < 400,
        )
    ]


def rate_limited(ctx: SimContext) -> list[Incident]:
    client = ctx.client(("service",), 1, 17)
    if client is None:
        return []
    start, end, rng = ctx.at(1, 17.0), ctx.at(1, 17.75), ctx.rng
    count = int((end - start) / WINDOW) * 25

    def limited(w: float) -> list[Event]:
        events = [normal_ok(ctx, t, client) for t in spread(count, start, end, w, rng)]
        for event in events:
            refuse(event, 429, Reason.RATE_LIMITED, event.method, event.uri, event.operation)
        return events

    return [Incident("rate_limited", {"client": client.name}, start, end, "25 refusals per 5 min", limited)]


def forbidden_calls(ctx: SimContext) -> list[Incident]:
    """A client trying, among its usual calls, the operations its roles do not allow: 60 refusals in
    ten minutes, a few operations over and over (a tool pointed at the wrong API, a stolen certificate)."""
    client = ctx.client(("office", "service"), 0, 15, eligible=lambda profile: bool(profile.denied))
    if client is None:
        return []
    start, end, rng = ctx.at(0, 15.0), ctx.at(0, 15.0 + 10 / 60), ctx.rng
    targets = client.denied[:3]

    def refused(w: float) -> list[Event]:
        events = [normal_ok(ctx, t, client) for t in spread(60, start, end, w, rng)]
        for event in events:
            target = rng.choice(targets)
            refuse(event, 403, Reason.FORBIDDEN_ROLE, target.method, target.path(rng), target.id)
        return events

    note = "calls of operations its roles do not allow"
    return [Incident("forbidden_calls", {"client": client.name}, start, end, note, refused)]


def schema_violation(ctx: SimContext) -> list[Incident]:
    return [*_client_breaking_its_spec(ctx), *_operation_spec_change(ctx)]


def _spec_finding(op: dict) -> tuple[str, str, str]:
    """What the spec check finds in a request of ``op``: a field of its body, else a query parameter."""
    if op["body"]["allowed"]:
        return Reason.INVALID_BODY, "/name", "type"
    return Reason.INVALID_QUERY, "/limit", "maximum"


def _client_breaking_its_spec(ctx: SimContext) -> list[Incident]:
    """A client released with a bug: for an hour, seven of ten of its calls break their operation's spec,
    served as the gateway checks that API in report mode."""
    client = ctx.client(("service",), 0, 8)
    if client is None:
        return []
    start, end, rng = ctx.at(0, 8.0), ctx.at(0, 9.0), ctx.rng
    operations = {sim.id: sim.op for sim in ctx.operations}

    def flag(event: Event) -> None:
        if rng.random() < 0.7:
            found = _spec_finding(operations[event.operation])
            event.violation, event.violation_pointer, event.violation_keyword = found

    return [
        Incident(
            "schema_violation",
            {"client": client.name},
            start,
            end,
            "a client's calls break their spec (report mode)",
            change=flag,
            applies=served_to(client),
        )
    ]


def _operation_spec_change(ctx: SimContext) -> list[Incident]:
    """An upstream release changed an operation's spec: a query parameter every client leaves out is now
    required, and the gateway, enforcing the new spec, refuses every call of it for an hour."""
    target = popular_operation(ctx, exclude=set(ctx.used_operations))
    ctx.used_operations.add(target.id)
    start, end = ctx.at(1, 8.0), ctx.at(1, 9.0)
    reason = Reason.INVALID_BODY if target.op["body"]["allowed"] else Reason.INVALID_QUERY

    def refuse_all(event: Event) -> None:
        refuse(event, 400, reason, event.method, event.uri, event.operation)
        event.violation, event.violation_pointer, event.violation_keyword = reason, "/page", "required"

    return [
        Incident(
            "schema_violation",
            {"operation": target.id},
            start,
            end,
            "every client refused: the spec changed (enforce mode)",
            change=refuse_all,
            applies=lambda e: e.operation == target.id and e.reason in (Reason.OK, Reason.DEPRECATED),
        )
    ]


def popular_operation(ctx: SimContext, exclude: set[str]) -> SimOperation:
    """The live operation with the most expected traffic, for incidents that need many samples."""
    usage: dict[str, float] = {}
    for profile in ctx.profiles:
        total = sum(profile.weights)
        for sim, weight in zip(profile.operations, profile.weights, strict=True):
            usage[sim.id] = usage.get(sim.id, 0.0) + profile.peak * weight / total
    ranked = sorted((s for s in ctx.live() if s.id not in exclude), key=lambda s: -usage.get(s.id, 0.0))
    return ranked[0]


def input_quality(ctx: SimContext) -> list[Incident]:
    """The disk filled up for two hours of the night: about 3 % of the day's lines were cut short."""
    start, end, rng = ctx.at(0, 3.0), ctx.at(0, 5.0), ctx.rng
    day = expected_requests(ctx.profiles, 1, ctx.start_weekday)
    per_window = max(1, int(0.03 * day / ((end - start) / WINDOW)))

    def cut(w: float) -> list[str]:
        line = '{"v":1,"time":"%s","request_id":"%032x","remote_addr":"10.20.0.10","client":"'
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(w))
        return [(line % (stamp, rng.getrandbits(128)))[: rng.randint(20, 90)] + "\n" for _ in range(per_window)]

    return [Incident("input_quality", {}, start, end, "lines cut short by a full disk", add_lines=cut)]
