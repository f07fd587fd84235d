"""auth_failures: bursts of certificate or authentication failures from one source address that
look like a client's: a broken or expired certificate retried, a brute force on a few paths.

Statistic: per address and five-minute window, the count of no_client_cert, bad_client_cert and
unknown_client refusals. A window fires at >= ``min_failures`` failures making up >= ``min_share``
of that address's requests; windows at most ``gap_windows`` apart make one burst (one finding).
Hours in which the address tried >= ``scan_paths`` distinct undeclared paths are a scan, probing's
(log_analysis.detectors.scanning), not a client failing to authenticate.
Needs no baseline: a correctly configured client fails its handshake rarely, not dozens of times.
"""

from __future__ import annotations

from log_analysis.aggregates import HOUR, WINDOW
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.detectors.scanning import scanning_hours
from log_analysis.grouping import by_network
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_failures": 20.0, "min_share": 0.5, "gap_windows": 2.0, "scan_paths": 20.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    scans = scanning_hours(ctx, params["scan_paths"])
    findings = []
    for address, windows in sorted(ctx.failing_address_windows.items()):
        scanned = scans.get(address, set())
        firing = {
            w
            for w, slot in windows.items()
            if slot.auth_failures >= params["min_failures"]
            and slot.auth_failures >= params["min_share"] * slot.requests
            and w // HOUR * HOUR not in scanned
        }
        for group in runs(firing, WINDOW, int(params["gap_windows"])):
            failures = sum(windows[w].auth_failures for w in group)
            findings.append(
                Finding(
                    detector="auth_failures",
                    severity=Severity.HIGH if failures >= 100 else Severity.MEDIUM,
                    subject=Subject(remote_addr=address),
                    start=group[0],
                    end=group[-1] + WINDOW,
                    score=float(failures),
                    message=f"{failures} certificate/authentication failures from {address}",
                    evidence={
                        "failures": failures,
                        "windows": len(group),
                        "peak_per_5min": max(windows[w].auth_failures for w in group),
                    },
                )
            )
    return findings


DETECTOR = Detector(
    id="auth_failures",
    severity=Severity.MEDIUM,
    description="Bursts of certificate/authentication failures from one address, where they look like a client's.",
    statistic="auth failures per address per 5-minute window, grouped into bursts; scanning hours left to probing",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    group=by_network("auth_failures", "failed to authenticate"),
)
