"""orphan_route: declared, live operations never called in the audit window (informational).

Statistic: operations of the current policy (deprecated ones left out: silence is what they are
for) with no logged request at all, refused ones included. Only judged when the logs span at least
``min_window_hours``: a short window says little about what is never used.
"""

from __future__ import annotations

from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"min_window_hours": 12.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    data = ctx.data
    if data.start is None or data.end is None or data.end - data.start < params["min_window_hours"] * 3600:
        ctx.notes.append(f"orphan_route: not judged, the logs span less than {params['min_window_hours']:g} h")
        return []
    called = {row[0] for row in data.routes}
    return [
        Finding(
            detector="orphan_route",
            severity=Severity.INFO,
            subject=Subject(operation=op["id"]),
            start=ctx.window_start,
            end=ctx.window_end,
            score=0.0,
            message=f"{op['id']} ({op['method']} {op['gateway_path']}) was never called in the window",
            evidence={"method": op["method"], "path": op["gateway_path"], "roles": op["roles"]},
        )
        for op in ctx.policy["operations"]
        if not op["deprecated"] and op["id"] not in called
    ]


DETECTOR = Detector(
    id="orphan_route",
    severity=Severity.INFO,
    description="Declared operations never called in the window (informational).",
    statistic="operations of the policy absent from every logged request",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    needs_policy=True,
)
