"""Scoring an audit against the simulator's ground truth: precision and recall per detector.

A finding matches an incident when their detectors agree, every subject field the incident names
is equal in the finding, and their windows overlap (within ``slack`` seconds). Recall: incidents
with at least one matching finding; precision: findings that match some incident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass
class DetectorScore:
    detector: str
    incidents: int = 0
    found: int = 0  # incidents matched by at least one finding
    findings: int = 0
    true_findings: int = 0  # findings matching some incident

    @property
    def recall(self) -> float | None:
        return self.found / self.incidents if self.incidents else None

    @property
    def precision(self) -> float | None:
        return self.true_findings / self.findings if self.findings else None


def _epoch(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def matches(finding: dict[str, Any], incident: dict[str, Any], slack: float = 600.0) -> bool:
    if finding["detector"] != incident["detector"]:
        return False
    if any(finding["subject"].get(key) != value for key, value in incident["subject"].items()):
        return False
    start, end = _epoch(finding["window"]["start"]), _epoch(finding["window"]["end"])
    return start <= _epoch(incident["end"]) + slack and end >= _epoch(incident["start"]) - slack


def score(
    findings: list[dict[str, Any]], incidents: list[dict[str, Any]], detectors: list[str], slack: float = 600.0
) -> dict[str, DetectorScore]:
    scores = {name: DetectorScore(name) for name in detectors}
    for incident in incidents:
        entry = scores.setdefault(incident["detector"], DetectorScore(incident["detector"]))
        entry.incidents += 1
        entry.found += any(matches(f, incident, slack) for f in findings)
    for finding in findings:
        entry = scores.setdefault(finding["detector"], DetectorScore(finding["detector"]))
        entry.findings += 1
        entry.true_findings += any(matches(finding, incident, slack) for incident in incidents)
    return scores


def totals(scores: dict[str, DetectorScore]) -> DetectorScore:
    overall = DetectorScore("all")
    for entry in scores.values():
        overall.incidents += entry.incidents
        overall.found += entry.found
        overall.findings += entry.findings
        overall.true_findings += entry.true_findings
    return overall
