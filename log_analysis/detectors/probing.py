"""probing: one actor scanning: many distinct unknown or refused paths in an hour.

Statistic: per identified client, or per source address for requests refused before an identity
was established (no or a bad client certificate, an unknown client), the number of distinct paths
per hour among its refused requests: unknown_path, method_not_allowed and non_canonical_path, and,
refused before routing, the paths the current policy does not declare (log_analysis.detectors.
scanning). An hour fires at >= ``min_distinct_paths`` such paths; consecutive hours make one
finding. Needs no baseline: a client of a declared API has no reason to try dozens of undeclared
paths, and a scanner without a certificate is not a client whose certificate broke. Addresses of
one network scanning at once are folded into one finding.
"""

from __future__ import annotations

from log_analysis.aggregates import HOUR
from log_analysis.context import CLIENT, AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.detectors.scanning import Attempts, refused_attempts
from log_analysis.grouping import by_network
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_distinct_paths": 20.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    findings = []
    for (kind, name), hours in sorted(refused_attempts(ctx).items()):
        firing = {h for h, slot in hours.items() if len(slot.paths) >= params["min_distinct_paths"]}
        for group in runs(firing, HOUR):
            findings.append(_finding(kind, name, [hours[h] for h in group]))
    return findings


def _finding(kind: str, name: str, slots: list[Attempts]) -> Finding:
    paths = set().union(*(slot.paths for slot in slots))
    addresses = sorted(set().union(*(slot.addresses for slot in slots)))
    requests = sum(slot.requests for slot in slots)
    early = sum(slot.before_routing for slot in slots)
    if kind == CLIENT:
        subject = Subject(client=name, remote_addr=addresses[0] if len(addresses) == 1 else "")
        message = f"scan by {name}: {len(paths)} distinct unknown or refused paths ({requests} requests)"
    elif early * 2 >= requests:
        subject = Subject(remote_addr=name)
        message = (
            f"scan from {name} without a valid client certificate: {len(paths)} distinct paths tried "
            f"({requests} requests, {early} refused before routing)"
        )
    else:
        subject = Subject(remote_addr=name)
        message = f"scan from {name}: {len(paths)} distinct unknown or refused paths ({requests} requests)"
    return Finding(
        detector="probing",
        severity=Severity.HIGH if len(paths) >= 100 else Severity.MEDIUM,
        subject=subject,
        start=min(slot.first for slot in slots),
        end=max(slot.last for slot in slots) + 1,
        score=float(len(paths)),
        message=message,
        evidence={
            "distinct_paths": len(paths),
            "requests": requests,
            "refused_before_routing": early,
            "addresses": addresses[:10],
            "sample_paths": sorted(paths)[:10],
        },
    )


DETECTOR = Detector(
    id="probing",
    severity=Severity.MEDIUM,
    description="An actor scanning many distinct unknown or refused paths, with or without a certificate.",
    statistic="distinct undeclared or refused paths per client (or address, before routing) per hour",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    group=by_network("probing", "scanned undeclared paths"),
)
