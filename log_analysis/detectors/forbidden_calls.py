"""forbidden_calls: a client that keeps calling operations its roles do not allow.

Statistic: per actor (the client, or the source address in logs without identities), its
forbidden_role refusals (a valid certificate, an operation none of its roles allows: 403) per
five-minute window and per hour. A window or an hour fires at >= ``min_refusals`` refusals making
up >= ``min_share`` of the actor's requests in it; an hour that fires while none of its windows
does (a steady trickle) stands for the windows from its first refusal to its last. Firing windows
at most ``gap_windows`` apart, and the windows with refusals next to them, make one burst (one
finding), with the operations refused and, from the policy, the client's subject and roles.
Needs no baseline: a client calls what it was granted; the odd mistaken call stays far below both
thresholds, and the share keeps a busy client's scattered mistakes from adding up to a burst.
These refusals are left out of error_ratio's client errors and rate_spike's rates: they are this
detector's.
"""

from __future__ import annotations

from collections import defaultdict

from airgapctl.contracts.access_log import Reason
from log_analysis.aggregates import HOUR, WINDOW
from log_analysis.context import CLIENT, AuditContext, Slot
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.grouping import by_network
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_refusals": 10.0, "min_share": 0.05, "gap_windows": 2.0}
LARGE = 100  # refusals in one burst that make it high
SHOWN = 10  # operations and addresses listed in a finding


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    refused = _refused_operations(ctx) if ctx.identity_key == CLIENT else {}
    findings = []
    for actor, windows in sorted(ctx.actor_windows.items()):
        if not any(slot.forbidden for slot in windows.values()):
            continue
        firing = {w for w, slot in windows.items() if _fires(slot, params)}
        refusing: dict[int, list[int]] = defaultdict(list)  # hour -> its windows with refusals
        for w, slot in windows.items():
            if slot.forbidden:
                refusing[w // HOUR * HOUR].append(w)
        hours = ctx.actor_hours[actor]
        for hour, inside in refusing.items():
            # An hour whose windows fire is told by them; one that fires alone was a steady trickle.
            if _fires(hours[hour], params) and not firing.intersection(inside):
                firing.update(range(min(inside), max(inside) + 1, WINDOW))
        # A burst runs over window boundaries: the refusals just before and after it are part of it.
        near = {w + step for w in firing for step in (-WINDOW, WINDOW)}
        firing |= {w for w in near if w in windows and windows[w].forbidden}
        for group in runs(firing, WINDOW, int(params["gap_windows"])):
            findings.append(_finding(ctx, actor, windows, group, refused.get(actor, {})))
    return findings


def _fires(slot: Slot, params: Parameters) -> bool:
    return slot.forbidden >= params["min_refusals"] and slot.forbidden >= params["min_share"] * slot.requests


def _refused_operations(ctx: AuditContext) -> dict[str, dict[str, list]]:
    """Per client and operation: [forbidden_role refusals, first, last] over the audited period."""
    table: dict[str, dict[str, list]] = defaultdict(dict)
    for operation, client, _, reason, n, *rest in ctx.data.routes:
        if reason != Reason.FORBIDDEN_ROLE or not client:
            continue
        entry = table[client].setdefault(operation, [0, rest[-2], rest[-1]])
        entry[0] += n
        entry[1], entry[2] = min(entry[1], rest[-2]), max(entry[2], rest[-1])
    return table


def _finding(
    ctx: AuditContext, actor: str, windows: dict[int, Slot], group: list[int], refused: dict[str, list]
) -> Finding:
    slots = [windows[w] for w in group if w in windows]
    refusals = sum(slot.forbidden for slot in slots)
    requests = sum(slot.requests for slot in slots)
    start, end = group[0], group[-1] + WINDOW
    addresses = sorted({a for slot in slots for a in slot.addresses})
    # Refusals per operation are counted over the audited period (the aggregates keep them per client,
    # not per window): the operations refused at some time during the burst are listed, most refused first.
    during = sorted(
        ((op, n) for op, (n, first, last) in refused.items() if first < end and last >= start),
        key=lambda item: (-item[1], item[0]),
    )
    operations = [op for op, _ in during]
    evidence: dict = {
        "refusals": refusals,
        "requests": requests,
        "share": round(refusals / requests, 4),
        "windows": len(group),
        "peak_per_5min": max(slot.forbidden for slot in slots),
        "addresses": addresses[:SHOWN],
    }
    what = (
        f"called operations its roles do not allow: {refusals} forbidden_role refusals within "
        f"{(end - start) // 60} min ({evidence['share']:.0%} of its requests)"
    )
    if ctx.identity_key == CLIENT:
        evidence["operations"] = dict(during[:SHOWN])
        evidence["distinct_operations"] = len(during)
        policy_client = next((c for c in (ctx.policy or {}).get("clients", []) if c["name"] == actor), None)
        if policy_client is not None:
            evidence["client_subject"] = policy_client["subject"]
            evidence["client_roles"] = sorted(policy_client["roles"])
        roles = f" (roles: {', '.join(evidence['client_roles'])})" if "client_roles" in evidence else ""
        shown = ", ".join(operations[:3]) + (", …" if len(operations) > 3 else "")
        message = f"{actor}{roles} {what}" + (f": {shown}" if shown else "")
        subject = Subject(client=actor, remote_addr=addresses[0] if len(addresses) == 1 else "")
    else:
        message = f"{actor} {what}"
        subject = ctx.actor_subject(actor)
    return Finding(
        detector="forbidden_calls",
        severity=Severity.HIGH if refusals >= LARGE else Severity.MEDIUM,
        subject=subject,
        start=start,
        end=end,
        score=float(refusals),
        message=message,
        evidence=evidence,
    )


DETECTOR = Detector(
    id="forbidden_calls",
    severity=Severity.MEDIUM,
    description="A client calling operations its roles do not allow, again and again (forbidden_role refusals).",
    statistic="forbidden_role refusals and their share per client per 5-minute window and hour, grouped into bursts",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    group=by_network("forbidden_calls", "called operations outside their roles"),
)
