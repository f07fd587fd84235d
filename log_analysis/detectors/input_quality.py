"""input_quality: a log file of which too many lines could not be read.

Statistic: per file, the share of its lines skipped (unparsable, truncated, binary, over-long,
missing a field ...; lines outside --since/--until are not skipped, only not asked for). A file
fires when the share exceeds ``max_skipped_share`` and at least ``min_skipped`` lines were skipped,
or when it is a damaged gzip file of which only the beginning could be read. Everything judged
from such a file is judged on part of it. Needs no baseline. (A file none of whose lines could be
read stops the audit instead: that is a wrong --log-format, or no log at all.)
"""

from __future__ import annotations

from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.model import Finding, Severity, Subject

PARAMETERS = {"max_skipped_share": 0.01, "min_skipped": 1.0}


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    findings = []
    for stats in ctx.files:
        skipped = stats.skipped_total
        share = skipped / stats.lines if stats.lines else 0.0
        too_many = share > params["max_skipped_share"] and skipped >= params["min_skipped"]
        if not too_many and not stats.damaged_gzip:
            continue
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(stats.skipped.items(), key=lambda r: -r[1]))
        parts = []
        if too_many:
            parts.append(f"{skipped:,} of {stats.lines:,} lines ({share:.1%}) could not be read ({reasons})")
        if stats.damaged_gzip:
            parts.append("it is a damaged gzip file: only its beginning was read")
        findings.append(
            Finding(
                detector="input_quality",
                severity=Severity.HIGH if share >= 0.25 else Severity.MEDIUM,
                subject=Subject(file=stats.path),
                start=stats.first if stats.first is not None else ctx.window_start,
                end=(stats.last + 1) if stats.last is not None else ctx.window_end,
                score=round(share, 4),
                message=f"{stats.path}: " + "; ".join(parts) + "; what was judged from it is judged on part of it",
                evidence={
                    "lines": stats.lines,
                    "skipped": skipped,
                    "share": round(share, 4),
                    "by_reason": dict(sorted(stats.skipped.items())),
                    "damaged_gzip": stats.damaged_gzip,
                },
            )
        )
    return findings


DETECTOR = Detector(
    id="input_quality",
    severity=Severity.MEDIUM,
    description="A log file of which too many lines could not be read (or a damaged gzip file).",
    statistic="share of each file's lines skipped, by reason",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
)
