"""probing: one client (or, unidentified, one address) requesting many distinct unknown or refused paths.

Statistic: the number of distinct paths per hour among its requests that matched no operation and
were refused as unknown_path, method_not_allowed or non_canonical_path. An hour fires at
>= ``min_distinct_paths`` such paths; consecutive hours make one finding. Needs no baseline: a
client of a declared API has no reason to try dozens of undeclared paths.
"""

from __future__ import annotations

from collections import defaultdict

from log_analysis.aggregates import HOUR
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_distinct_paths": 20.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    # actor -> hour -> paths, probe requests, first, last, addresses
    table: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for method, path, client, address, hour, *measures in ctx.data.unmatched:
        probes, first, last = measures[7], measures[-2], measures[-1]
        if not probes:
            continue
        actor = ("client", client) if client else ("remote_addr", address)
        slot = table[actor].setdefault(
            hour, {"paths": set(), "probes": 0, "first": first, "last": last, "addresses": set()}
        )
        slot["paths"].add(f"{method} {path}")
        slot["probes"] += probes
        slot["first"], slot["last"] = min(slot["first"], first), max(slot["last"], last)
        slot["addresses"].add(address)
    findings = []
    for (kind, name), hours in sorted(table.items()):
        firing = {h for h, slot in hours.items() if len(slot["paths"]) >= params["min_distinct_paths"]}
        for group in runs(firing, HOUR):
            findings.append(_finding(kind, name, [hours[h] for h in group]))
    return findings


def _finding(kind: str, name: str, slots: list[dict]) -> Finding:
    paths = set().union(*(slot["paths"] for slot in slots))
    addresses = sorted(set().union(*(slot["addresses"] for slot in slots)))
    probes = sum(slot["probes"] for slot in slots)
    subject = (
        Subject(client=name, remote_addr=addresses[0] if len(addresses) == 1 else "")
        if kind == "client"
        else Subject(remote_addr=name)
    )
    return Finding(
        detector="probing",
        severity=Severity.HIGH if len(paths) >= 100 else Severity.MEDIUM,
        subject=subject,
        start=min(slot["first"] for slot in slots),
        end=max(slot["last"] for slot in slots) + 1,
        score=float(len(paths)),
        message=f"{name} tried {len(paths)} distinct unknown or refused paths ({probes} requests)",
        evidence={
            "distinct_paths": len(paths),
            "requests": probes,
            "addresses": addresses[:10],
            "sample_paths": sorted(paths)[:10],
        },
    )


DETECTOR = Detector(
    id="probing",
    severity=Severity.MEDIUM,
    description="A client hitting many distinct unknown or refused paths (scanning).",
    statistic="distinct unknown/refused paths per client (or address) per hour",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
)
