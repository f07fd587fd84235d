"""auth_failures: bursts of certificate or authentication failures from one source address.

Statistic: per address and five-minute window, the count of no_client_cert, bad_client_cert and
unknown_client refusals. A window fires at >= ``min_failures`` failures making up >= ``min_share``
of that address's requests; windows at most ``gap_windows`` apart make one burst (one finding).
Needs no baseline: a correctly configured client fails its handshake rarely, not dozens of times.
"""

from __future__ import annotations

from log_analysis.aggregates import WINDOW
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_failures": 20.0, "min_share": 0.5, "gap_windows": 2.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    findings = []
    for address, windows in sorted(ctx.failing_address_windows.items()):
        firing = {
            w
            for w, slot in windows.items()
            if slot.auth_failures >= params["min_failures"]
            and slot.auth_failures >= params["min_share"] * slot.requests
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
    description="Bursts of certificate/authentication failures from one address.",
    statistic="auth failures per address per 5-minute window, grouped into bursts",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
)
