"""Findings of one detector that share a cause, folded into one finding people can work through.

Hundreds of findings that all say the same thing (one undeclared route per path shape under one
prefix, one new address per host of one network) bury the few that say something else. A group
keeps the counts and the first examples; the members it replaces are not listed one by one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from log_analysis.model import Finding, Subject, iso

MIN_GROUP = 3  # fewer findings sharing a cause stay as they are
EXAMPLES = 5


def network(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) network an address is in; the text itself if it is no address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = 24 if parsed.version == 4 else 64
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def fold(
    findings: list[Finding],
    key: Callable[[Finding], str | None],
    make: Callable[[str, list[Finding]], Finding],
    min_size: int = MIN_GROUP,
) -> list[Finding]:
    """Replace every set of at least ``min_size`` findings with the same ``key`` by ``make(key, members)``;
    findings whose key is None are left alone."""
    groups: dict[str, list[Finding]] = {}
    kept = []
    for finding in findings:
        name = key(finding)
        if name is None:
            kept.append(finding)
        else:
            groups.setdefault(name, []).append(finding)
    for name, members in groups.items():
        if len(members) >= min_size:
            kept.append(make(name, members))
        else:
            kept.extend(members)
    return kept


def group_finding(
    detector: str, subject: Subject, members: list[Finding], message: str, evidence: dict[str, Any]
) -> Finding:
    """One finding standing for ``members``: the worst severity, the whole time span, the first examples."""
    ordered = sorted(members, key=lambda f: (-f.severity, -f.score, f.start))
    return Finding(
        detector=detector,
        severity=max(f.severity for f in members),
        subject=subject,
        start=min(f.start for f in members),
        end=max(f.end for f in members),
        score=max(f.score for f in members),
        message=message,
        evidence={
            "grouped": len(members),
            **evidence,
            "examples": [
                {
                    "subject": f.subject.as_dict(),
                    "severity": f.severity.label,
                    "window": {"start": iso(f.start), "end": iso(f.end)},
                    "message": f.message,
                }
                for f in ordered[:EXAMPLES]
            ],
        },
    )


def by_network(detector: str, what: str) -> Callable[[list[Finding]], list[Finding]]:
    """A detector's grouping of findings about single addresses (no identity) by their network."""

    def key(finding: Finding) -> str | None:
        subject = finding.subject
        return network(subject.remote_addr) if subject.remote_addr and not subject.client else None

    def make(name: str, members: list[Finding]) -> Finding:
        addresses = sorted({f.subject.remote_addr for f in members})
        shown = ", ".join(addresses[:3]) + (", …" if len(addresses) > 3 else "")
        return group_finding(
            detector,
            Subject(remote_addr=name),
            members,
            f"{len(addresses)} addresses in {name} {what} ({shown})",
            {"addresses": addresses[:20]},
        )

    return lambda findings: fold(findings, key, make)
