"""rate_limited: a client refused with 429 for a sustained stretch of time.

Statistic: per client (or, unidentified, per address) and five-minute window, the count and share
of rate_limited refusals. A window counts at >= ``min_per_window`` refusals making up
>= ``min_share`` of its requests; a finding needs >= ``min_windows`` such windows at most
``gap_windows`` apart (a single burst the limiter absorbs is what it is for). No baseline needed.
"""

from __future__ import annotations

from log_analysis.aggregates import WINDOW
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters, runs
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_per_window": 5.0, "min_share": 0.2, "min_windows": 3.0, "gap_windows": 1.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    findings = []
    actors = [(ctx.actor_subject(c), w) for c, w in ctx.actor_windows.items()]
    actors += [(Subject(remote_addr=a), w) for a, w in ctx.anonymous_windows.items()]
    for subject, windows in sorted(actors, key=lambda item: (item[0].client, item[0].remote_addr)):
        limited = {
            w
            for w, slot in windows.items()
            if slot.limited >= params["min_per_window"] and slot.limited >= params["min_share"] * slot.requests
        }
        for group in runs(limited, WINDOW, int(params["gap_windows"])):
            if len(group) < params["min_windows"]:
                continue
            refused = sum(windows[w].limited for w in group)
            minutes = (group[-1] + WINDOW - group[0]) // 60
            who = subject.client or subject.remote_addr
            findings.append(
                Finding(
                    detector="rate_limited",
                    severity=Severity.HIGH if minutes >= 60 else Severity.MEDIUM,
                    subject=subject,
                    start=group[0],
                    end=group[-1] + WINDOW,
                    score=float(refused),
                    message=f"{who} was refused {refused} times with 429 in {minutes} min",
                    evidence={"refused": refused, "minutes": minutes, "windows": len(group)},
                )
            )
    return findings


DETECTOR = Detector(
    id="rate_limited",
    severity=Severity.MEDIUM,
    description="Sustained 429 refusals for a client.",
    statistic="429 count and share per client per 5-minute window, sustained over several windows",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
)
