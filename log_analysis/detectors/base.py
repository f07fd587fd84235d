"""The one contract every detector follows, and the small statistics they share."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from log_analysis.context import AuditContext
from log_analysis.model import Finding, Severity

Parameters = dict[str, float]
# Robust scale: MAD times this estimates the standard deviation of normal data.
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Detector:
    """id (the finding's ``detector``), default severity, what it looks for, its tunable parameters,
    whether it needs a baseline or a policy, the function from the audit's data to findings, and
    how findings sharing a cause are folded into one (log_analysis.grouping)."""

    id: str
    severity: Severity
    description: str
    statistic: str
    parameters: Parameters
    needs_baseline: bool
    detect: Callable[[AuditContext, Parameters], list[Finding]] = field(compare=False)
    needs_policy: bool = False  # drift: judged against the current policy
    group: Callable[[list[Finding]], list[Finding]] | None = field(default=None, compare=False)

    def run(self, ctx: AuditContext, overrides: Parameters | None = None) -> list[Finding]:
        params = {**self.parameters, **(overrides or {})}
        findings = self.detect(ctx, params)
        if self.group is not None:
            findings = self.group(findings)
        for finding in findings:
            if finding.detector != self.id:
                raise AssertionError(f"{self.id} produced a finding tagged {finding.detector}")
        return findings


def median_and_mad(values: list[float]) -> tuple[float, float]:
    """Median and median absolute deviation (unscaled)."""
    if not values:
        return 0.0, 0.0
    middle = statistics.median(values)
    return middle, statistics.median(abs(v - middle) for v in values)


def robust_score(value: float, samples: list[float], floor: float) -> tuple[float, float]:
    """(score, median): how many robust standard deviations ``value`` lies above the samples' median.

    The scale never drops below ``floor``, so that a perfectly steady history (MAD 0) does not turn
    every small change into an infinite score.
    """
    middle, mad = median_and_mad(samples)
    return (value - middle) / max(MAD_SCALE * mad, floor), middle


def runs(slots: Iterable[int], step: int, gap: int = 1) -> list[list[int]]:
    """Group sorted slot starts into runs whose members are at most ``gap`` steps apart."""
    groups: list[list[int]] = []
    for slot in sorted(slots):
        if groups and slot - groups[-1][-1] <= gap * step:
            groups[-1].append(slot)
        else:
            groups.append([slot])
    return groups


def binomial_z(errors: int, total: int, expected_share: float) -> float:
    """How far ``errors`` of ``total`` lies above the expected share, in binomial standard deviations."""
    share = min(max(expected_share, 1e-4), 0.999)
    return (errors - total * share) / (total * share * (1 - share)) ** 0.5
