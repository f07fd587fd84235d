"""new_client: an identity, or a source address of a known identity, that the baseline has never seen.

Statistic: membership. Identities are looked up in the baseline's client table; addresses in its
Bloom filter of addresses that made authenticated requests (a false positive there can only hide a
new address, at about 1 %, never invent one). Unauthenticated sources are auth_failures' business;
the addresses of a new identity are listed in its own finding rather than reported again. In logs
without identities the actors are source addresses: a new source is an address the filter has
never seen, and new sources of one network are folded into one finding.
"""

from __future__ import annotations

from collections import Counter

from log_analysis.context import ADDRESS, AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.grouping import by_network
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_requests": 1.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    if ctx.identity_key == ADDRESS:
        return _new_sources(ctx, params)
    findings = []
    for client, windows in sorted(ctx.actor_windows.items()):
        requests = sum(slot.requests for slot in windows.values())
        if requests < params["min_requests"]:
            continue
        addresses: Counter = Counter()
        for slot in windows.values():
            addresses.update(slot.addresses)
        start, end = min(windows), max(windows) + 300
        if client not in ctx.baseline.clients:
            findings.append(_new_identity(client, requests, addresses, start, end))
            continue
        for address, count in sorted(addresses.items()):
            if address not in ctx.baseline.addresses:
                seen = [w for w, slot in windows.items() if address in slot.addresses]
                findings.append(_new_address(client, address, count, min(seen), max(seen) + 300))
    return findings


def _new_sources(ctx: AuditContext, params: Parameters) -> list[Finding]:
    assert ctx.baseline is not None
    findings = []
    for address, windows in sorted(ctx.actor_windows.items()):
        requests = sum(slot.requests for slot in windows.values())
        if requests < params["min_requests"] or address in ctx.baseline.addresses:
            continue
        findings.append(
            Finding(
                detector="new_client",
                severity=Severity.LOW,
                subject=Subject(remote_addr=address),
                start=min(windows),
                end=max(windows) + 300,
                score=float(requests),
                message=f"source address {address} was never seen before ({requests} requests)",
                evidence={"requests": requests},
            )
        )
    return findings


def _new_identity(client: str, requests: int, addresses: Counter, start: float, end: float) -> Finding:
    return Finding(
        detector="new_client",
        severity=Severity.MEDIUM,
        subject=Subject(client=client),
        start=start,
        end=end,
        score=float(requests),
        message=f"identity {client} was never seen before ({requests} requests)",
        evidence={"requests": requests, "addresses": [a for a, _ in addresses.most_common(5)]},
    )


def _new_address(client: str, address: str, requests: int, start: float, end: float) -> Finding:
    return Finding(
        detector="new_client",
        severity=Severity.LOW,
        subject=Subject(client=client, remote_addr=address),
        start=start,
        end=end,
        score=float(requests),
        message=f"{client} connected from {address}, an address never seen before ({requests} requests)",
        evidence={"requests": requests},
    )


DETECTOR = Detector(
    id="new_client",
    severity=Severity.MEDIUM,
    description="An identity, or a source address of a known identity, not in the baseline.",
    statistic="membership in the baseline's clients and its Bloom filter of addresses",
    parameters=PARAMETERS,
    needs_baseline=True,
    detect=detect,
    group=by_network("new_client", "were never seen before"),
)
