"""schema_violation: requests breaking their operation's spec, where their share jumps: for one client,
or for every client of one operation at once.

The gateway's spec check flags a request that breaks its operation's OpenAPI spec: served and logged
with the finding in report mode, refused (invalid_query, invalid_header, invalid_body) in enforce
mode. Both count as violations.

Statistic, per actor (the client, or the source address in logs without identities) and five-minute
window: its violations and their share of its calls that reached an operation. A window fires at
>= ``min_violations`` violations making up >= ``min_share`` of them, and so does an hour, which then
stands for its windows from its first violation to its last (a slower client's burst, or one some
windows of which fell short, is judged from its start).
Firing windows at most ``gap_windows`` apart make one burst, a finding when the actor's share over
the audited span before it (a daily run's: the lines it read and the hour carried from the last)
stayed below ``max_earlier_share``. An actor with no earlier traffic in the span is judged on the
burst alone: one that broke the spec from its first request is reported once, at its start, when it
reached the minimum; a steady low share never fires.
Per operation and hour: the identities that called it. An hour fires when >= ``min_clients`` of them
did, every one with a share >= ``min_client_share`` and >= ``min_violations`` violations in all,
while the operation's share before that hour stayed below ``max_earlier_share``: the clients did
not all change at once, the spec or the upstream did. Consecutive firing hours make one finding,
and the clients' own bursts on that operation are folded into it.
Evidence: the counts, the most frequent place and check (pointer and keyword, never a value) and
the first and last violation. Needs no baseline: a client keeps to the spec it was written for.
Requests refused for their spec are left out of error_ratio's client errors: they are this
detector's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from log_analysis.aggregates import HOUR, WINDOW
from log_analysis.context import CLIENT, AuditContext, Slot
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.model import Finding, Severity, Subject, iso

PARAMETERS = {
    "min_violations": 10.0,
    "min_share": 0.5,
    "max_earlier_share": 0.1,
    "gap_windows": 2.0,
    "min_clients": 2.0,
    "min_client_share": 0.8,
}
LARGE = 100  # violations in one finding that make it high
SHOWN = 10  # operations, clients and addresses listed in a finding
POINTER_CHARS = 200  # a pointer is a place in the request: a long one is cut, not reported whole
# Columns of AuditData.violations: actor's client and address, window, operation, what, pointer, keyword,
# then the measures, of which the line count (every line of such a row was flagged).
_CLIENT, _ADDRESS, _WIN, _OPERATION, _WHAT, _POINTER, _KEYWORD, _N = range(8)


@dataclass
class _Places:
    """The flagged lines behind a finding: where and how they broke the spec."""

    places: Counter = field(default_factory=Counter)  # (what, pointer, keyword) -> violations
    operations: Counter = field(default_factory=Counter)
    first: float = float("inf")
    last: float = 0.0

    def add(self, row: tuple) -> None:
        n, first, last = row[_N], row[-2], row[-1]
        self.places[(row[_WHAT], row[_POINTER], row[_KEYWORD])] += n
        self.operations[row[_OPERATION]] += n
        self.first, self.last = min(self.first, first), max(self.last, last)

    def top(self) -> tuple[tuple[str, str, str], int] | None:
        """The most frequent (what, pointer, keyword) and its count; None when no row was kept."""
        return max(self.places.items(), key=lambda item: (item[1], item[0])) if self.places else None

    def evidence(self) -> dict:
        by_kind: Counter = Counter()
        for (kind, _, _), n in self.places.items():
            by_kind[kind] += n
        top, place = self.top(), None
        if top is not None:
            (what, pointer, keyword), count = top
            place = {"violation": what, "pointer": pointer[:POINTER_CHARS], "keyword": keyword, "count": count}
        return {
            "by_violation": dict(sorted(by_kind.items())),
            "top_place": place,
            "distinct_places": len(self.places),
            "first": iso(self.first) if self.places else None,
            "last": iso(self.last) if self.places else None,
        }

    def summary(self) -> str:
        top = self.top()
        if top is None:
            return "places not kept"
        (what, pointer, keyword), _ = top
        place = pointer[:POINTER_CHARS] if pointer else "the whole body"
        return f"mostly {what} at {place} ({keyword or 'no keyword'})"


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    if not any(row[_N] for row in ctx.data.violations):
        return []
    by_actor: dict[str, list[tuple]] = defaultdict(list)
    by_operation: dict[str, list[tuple]] = defaultdict(list)
    for row in ctx.data.violations:
        by_actor[row[_CLIENT] if ctx.identity_key == CLIENT else row[_ADDRESS]].append(row)
        by_operation[row[_OPERATION]].append(row)
    operations = _operation_findings(ctx, params, by_operation)
    clients = [
        finding
        for finding in _actor_findings(ctx, params, by_actor)
        if not _explained(finding, operations, by_actor[_actor_of(finding)])
    ]
    return operations + clients


def _actor_of(finding: Finding) -> str:
    return finding.subject.client or finding.subject.remote_addr


def _share(violations: int, requests: int) -> float:
    return violations / requests if requests else 0.0


def _fires(slot: Slot, params: Parameters) -> bool:
    return slot.violations >= params["min_violations"] and slot.violations >= params["min_share"] * slot.spec_base


def _earlier(slots: dict[int, Slot], start: int) -> tuple[int, int]:
    """(violations, requests) in the slots before ``start``."""
    before = [slot for when, slot in slots.items() if when < start]
    return sum(slot.violations for slot in before), sum(slot.spec_base for slot in before)


def _jumped(earlier: tuple[int, int], params: Parameters) -> bool:
    """Whether the share before was low: no earlier traffic leaves the burst to be judged alone."""
    violations, requests = earlier
    return not requests or _share(violations, requests) < params["max_earlier_share"]


def _actor_findings(ctx: AuditContext, params: Parameters, rows: dict[str, list[tuple]]) -> list[Finding]:
    findings = []
    for actor in sorted(rows):
        windows = ctx.actor_windows.get(actor)
        if not windows:
            continue
        firing = {w for w, slot in windows.items() if _fires(slot, params)}
        flagged: dict[int, list[int]] = defaultdict(list)  # hour -> its windows with violations
        for w, slot in windows.items():
            if slot.violations:
                flagged[w // HOUR * HOUR].append(w)
        hours = ctx.actor_hours[actor]
        for hour, inside in flagged.items():
            # A firing hour stands for its windows from its first violation to its last, whether or not
            # some fire alone: a slower client's burst, or a burst some of whose windows fell short, is
            # then judged from its start, not from its busiest window on.
            if _fires(hours[hour], params):
                firing.update(w for w in range(min(inside), max(inside) + 1, WINDOW) if w in windows)
        # A burst runs over window boundaries: the violations just before and after it are part of it.
        near = {w + step for w in firing for step in (-WINDOW, WINDOW)}
        firing |= {w for w in near if w in windows and windows[w].violations}
        for group in runs(firing, WINDOW, int(params["gap_windows"])):
            earlier = _earlier(windows, group[0])
            if _jumped(earlier, params):
                findings.append(_actor_finding(ctx, actor, windows, group, earlier, rows[actor]))
    return findings


def _actor_finding(
    ctx: AuditContext,
    actor: str,
    windows: dict[int, Slot],
    group: list[int],
    earlier: tuple[int, int],
    rows: list[tuple],
) -> Finding:
    slots = [windows[w] for w in group]
    violations = sum(slot.violations for slot in slots)
    requests = sum(slot.spec_base for slot in slots)
    refused = sum(slot.invalid for slot in slots)
    start, end = group[0], group[-1] + WINDOW
    places = _Places()
    for row in rows:
        if start <= row[_WIN] < end:
            places.add(row)
    addresses = sorted({a for slot in slots for a in slot.addresses})
    share = _share(violations, requests)
    evidence = {
        "kind": "client",
        "violations": violations,
        "requests": requests,
        "share": round(share, 4),
        "refused": refused,
        "earlier_requests": earlier[1],
        "earlier_share": round(_share(*earlier), 4) if earlier[1] else None,
        "windows": len(group),
        "peak_per_5min": max(slot.violations for slot in slots),
        **places.evidence(),
        "operations": dict(places.operations.most_common(SHOWN)),
        "addresses": addresses[:SHOWN],
    }
    before = f"{_share(*earlier):.0%} before" if earlier[1] else "no earlier requests in the span"
    message = (
        f"{actor}: {violations} requests broke their operation's spec within {(end - start) // 60} min "
        f"({share:.0%} of its calls, {before}), {places.summary()}"
    )
    subject = ctx.actor_subject(actor)
    if ctx.identity_key == CLIENT and len(addresses) == 1:
        subject = Subject(client=actor, remote_addr=addresses[0])
    return Finding(
        detector="schema_violation",
        severity=Severity.HIGH if violations >= LARGE else Severity.MEDIUM,
        subject=subject,
        start=start,
        end=end,
        score=float(violations),
        message=message,
        evidence=evidence,
    )


def _operation_findings(ctx: AuditContext, params: Parameters, rows: dict[str, list[tuple]]) -> list[Finding]:
    findings = []
    for operation in sorted(rows):
        hours = ctx.operation_client_hours.get(operation)
        if not operation or not hours:
            continue
        callers = {h: {c: slot for c, slot in clients.items() if c and slot.spec_base} for h, clients in hours.items()}
        firing = {hour for hour, clients in callers.items() if _everyone_fails(clients, params)}
        totals = {hour: _total(clients.values()) for hour, clients in callers.items()}
        for group in runs(firing, HOUR):
            earlier = _earlier(totals, group[0])
            if _jumped(earlier, params):
                findings.append(_operation_finding(operation, callers, group, earlier, rows[operation]))
    return findings


def _everyone_fails(clients: dict[str, Slot], params: Parameters) -> bool:
    return (
        len(clients) >= params["min_clients"]
        and sum(slot.violations for slot in clients.values()) >= params["min_violations"]
        and all(slot.violations >= params["min_client_share"] * slot.spec_base for slot in clients.values())
    )


def _total(slots: Iterable[Slot]) -> Slot:
    total = Slot()
    for slot in slots:
        total.rate_requests += slot.rate_requests
        total.violations += slot.violations
        total.invalid += slot.invalid
    return total


def _operation_finding(
    operation: str, callers: dict[int, dict[str, Slot]], group: list[int], earlier: tuple[int, int], rows: list[tuple]
) -> Finding:
    start, end = group[0], group[-1] + HOUR
    clients = sorted({c for hour in group for c in callers[hour]})
    total = _total(slot for hour in group for slot in callers[hour].values())
    places = _Places()
    for row in rows:
        if start <= row[_WIN] < end:
            places.add(row)
    share = _share(total.violations, total.spec_base)
    evidence = {
        "kind": "operation",
        "violations": total.violations,
        "requests": total.spec_base,
        "share": round(share, 4),
        "refused": total.invalid,
        "earlier_requests": earlier[1],
        "earlier_share": round(_share(*earlier), 4) if earlier[1] else None,
        "hours": len(group),
        "distinct_clients": len(clients),
        "clients": clients[:SHOWN],
        **places.evidence(),
    }
    before = f"{_share(*earlier):.1%} before" if earlier[1] else "no earlier calls in the span"
    message = (
        f"{operation}: every client calling it broke its spec ({len(clients)} clients): {total.violations} of "
        f"{total.spec_base} calls ({share:.0%}, {before}), {places.summary()}: the spec or the upstream changed"
    )
    # Every client turned away (enforce mode) is an outage of the operation.
    refused_most = total.invalid * 2 >= total.violations
    return Finding(
        detector="schema_violation",
        severity=Severity.HIGH if refused_most or total.violations >= LARGE else Severity.MEDIUM,
        subject=Subject(operation=operation),
        start=start,
        end=end,
        score=float(total.violations),
        message=message,
        evidence=evidence,
    )


def _explained(finding: Finding, operations: list[Finding], rows: list[tuple]) -> bool:
    """Whether most of a client's burst fell on operations every client failed at the same time."""
    failing = [f for f in operations if f.start < finding.end and f.end > finding.start]
    if not failing:
        return False
    during = [row for row in rows if finding.start <= row[_WIN] < finding.end]
    total = sum(row[_N] for row in during)
    shared = sum(
        row[_N]
        for row in during
        if any(f.subject.operation == row[_OPERATION] and f.start <= row[_WIN] < f.end for f in failing)
    )
    return total > 0 and shared * 2 >= total


DETECTOR = Detector(
    id="schema_violation",
    severity=Severity.MEDIUM,
    description="Requests breaking their operation's spec: one client's share jumping, or all of an operation's.",
    statistic="spec-check violations and their share per client per 5-minute window and hour against its earlier "
    "share, and per operation and hour across its clients",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
)
