"""Requests as the gateway would log them, and the JSON line NGINX writes for each."""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import random
from dataclasses import dataclass

from airgapctl.contracts import access_log
from airgapctl.contracts.access_log import Reason
from log_analysis.simulate.profiles import TABLE_BITS, ClientProfile, SimOperation

# The line as NGINX writes it, field order, names and types from the contract. LineWriter.line gives
# every value but the fixed ones in the order of _GIVEN; _IN_LINE_ORDER puts them in the contract's
# (a by-name template would cost a third more per line).
_FIXED = {"v": str(access_log.VERSION), "tls_version": '"TLSv1.3"'}
_BY_TYPE = {"string": '"%s"', "integer": "%d", "number": "%.3f"}
_BY_NAME = {**_FIXED, "request_id": '"%032x"'}  # the request id is given as 128 random bits
_LINE = access_log.json_line_template({f.name: _BY_NAME.get(f.name) or _BY_TYPE[f.type] for f in access_log.FIELDS})
_GIVEN = (
    "time", "request_id", "remote_addr", "client", "subject", "roles", "method", "uri", "operation", "decision",
    "reason", "status", "bytes_in", "bytes_out", "request_time", "upstream_status", "upstream_time", "policy_id",
    "violation", "violation_pointer", "violation_keyword",
)  # fmt: skip
_IN_LINE_ORDER = operator.itemgetter(*(_GIVEN.index(f.name) for f in access_log.FIELDS if f.name not in _FIXED))
ALLOWED_REASONS = frozenset(access_log.ALLOWED)
# Refused before an identity was established: no client name or roles are logged.
_UNIDENTIFIED = frozenset({Reason.NO_CLIENT_CERT, Reason.BAD_CLIENT_CERT, Reason.UNKNOWN_CLIENT})


@dataclass(slots=True)
class Event:
    ts: float
    addr: str
    client: ClientProfile | None  # None: the gateway identified nobody
    method: str
    uri: str  # JSON-escaped already
    operation: str
    reason: str
    status: int
    bytes_in: int
    bytes_out: int
    request_time: float
    policy_id: str
    subject: str = ""  # the presented certificate subject when there is no identity
    # What the spec check found ('' for nothing): served so in report mode, refused with it in enforce mode.
    violation: str = ""
    violation_pointer: str = ""  # JSON-escaped already
    violation_keyword: str = ""


def escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


def served(ts: float, client: ClientProfile, addr: str, sim: SimOperation, rng: random.Random, policy_id: str) -> Event:
    """A request the gateway let through and the upstream answered normally."""
    pick = rng.getrandbits(TABLE_BITS)
    body = 300 + (pick & 511) if sim.op["body"]["allowed"] else 0
    reason = Reason.DEPRECATED if sim.op["deprecated"] and sim.op["deprecation_action"] != "allow" else Reason.OK
    size, latency = sim.sizes[rng.getrandbits(TABLE_BITS)], sim.latencies[rng.getrandbits(TABLE_BITS)]
    return Event(
        ts,
        addr,
        client,
        sim.method,
        sim.paths[pick],
        sim.id,
        reason,
        sim.ok_status,
        420 + body,
        size,
        latency,
        policy_id,
    )


def normal_event(ts: float, client: ClientProfile, rng: random.Random, policy_id: str) -> Event:
    """Mostly successes, with the small everyday share of upstream errors, 404s, typos and refusals."""
    sim = client.op_table[rng.getrandbits(TABLE_BITS)]
    addr = client.addresses[0] if len(client.addresses) == 1 or rng.random() < 0.8 else client.addresses[1]
    event = served(ts, client, addr, sim, rng, policy_id)
    draw = rng.random()
    if draw >= 0.0112:
        return event
    if draw < 0.002:
        event.status, event.reason = (502, Reason.UPSTREAM_ERROR) if draw < 0.001 else (500, event.reason)
        event.bytes_out = 180
    elif draw < 0.010 and sim.op["path_params"]:
        event.status, event.bytes_out = 404, 160
    elif draw < 0.0105 and client.denied:
        denied = rng.choice(client.denied)
        refuse(event, 403, Reason.FORBIDDEN_ROLE, denied.method, denied.path(rng), denied.id)
    elif draw < 0.0110:
        # A typo: every one different, as mistyped paths are.
        refuse(event, 404, Reason.UNKNOWN_PATH, event.method, f"{event.uri}_{rng.getrandbits(24):06x}", "")
    elif draw >= 0.0110:
        refuse(event, 429, Reason.RATE_LIMITED, event.method, event.uri, event.operation)
    return event


def refuse(event: Event, status: int, reason: str, method: str, uri: str, operation: str) -> None:
    """Turn an event into a gateway refusal: nothing proxied, a small JSON error body."""
    event.status, event.reason, event.method, event.uri, event.operation = status, reason, method, uri, operation
    event.bytes_out, event.request_time = 150, 0.0


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class LineWriter:
    """Formats events as access-log lines; caches the time text per second and each client's fields."""

    def __init__(self, utc_offset_minutes: int, rng: random.Random) -> None:
        self.offset = utc_offset_minutes * 60
        sign = "+" if utc_offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(utc_offset_minutes), 60)
        self.suffix = f"{sign}{hours:02d}:{minutes:02d}"
        self.rng = rng
        self._second = -1
        self._text = ""
        self._day = (-1, "")
        self._who: dict[tuple[int, str, bool], tuple[str, str, str, str]] = {}

    def time_text(self, ts: float) -> str:
        second = int(ts)
        if second != self._second:
            local = second + self.offset
            day, rest = divmod(local, 86400)
            if day != self._day[0]:
                self._day = (day, dt.datetime.fromtimestamp(day * 86400, dt.UTC).strftime("%Y-%m-%dT"))
            hour, rest = divmod(rest, 3600)
            self._second = second
            self._text = f"{self._day[1]}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}{self.suffix}"
        return self._text

    def _identity(self, e: Event) -> tuple[str, str, str, str]:
        """The remote_addr, client, subject and roles values (cached: they repeat for every request)."""
        client = e.client
        identified = client is not None and e.reason not in _UNIDENTIFIED
        key = (id(client), e.addr + "|" + e.subject, identified)
        text = self._who.get(key)
        if text is None:
            name, roles = (client.name, client.roles) if identified and client else ("", "")
            # A refused certificate is still presented: its subject is logged, the identity is not.
            subject = client.subject if client is not None and e.reason != Reason.NO_CLIENT_CERT else e.subject
            text = self._who[key] = (e.addr, name, subject, roles)
        return text

    def line(self, e: Event) -> str:
        proxied = e.reason in ALLOWED_REASONS
        upstream_status, upstream_time = (str(e.status), f"{e.request_time * 0.95:.3f}") if proxied else ("", "")
        given = (
            self.time_text(e.ts),
            self.rng.getrandbits(128),
            *self._identity(e),
            e.method,
            e.uri,
            e.operation,
            access_log.decision(e.reason),
            e.reason,
            e.status,
            e.bytes_in,
            e.bytes_out,
            e.request_time,
            upstream_status,
            upstream_time,
            e.policy_id,
            e.violation,
            e.violation_pointer,
            e.violation_keyword,
        )
        return _LINE % _IN_LINE_ORDER(given)
