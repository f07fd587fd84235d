"""The audit's shared vocabulary: severities, findings and what was read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Ordered, so that ``--fail-on`` compares with >=."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; one of {names}") from None


def iso(epoch: float) -> str:
    """Epoch seconds as ISO 8601 in UTC, second resolution (the report's time format)."""
    return datetime.fromtimestamp(int(epoch), UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Subject:
    """Who or what a finding is about; empty fields do not apply."""

    client: str = ""
    operation: str = ""
    remote_addr: str = ""
    file: str = ""  # a log file (input_quality)
    host: str = ""  # an appliance of the inventory (config_drift, from a drift report)

    def as_dict(self) -> dict[str, str]:
        fields = (
            ("client", self.client),
            ("operation", self.operation),
            ("remote_addr", self.remote_addr),
            ("file", self.file),
            ("host", self.host),
        )
        return {k: v for k, v in fields if v}


@dataclass
class Finding:
    """One thing the security team should look at, tagged with exactly one detector name."""

    detector: str
    severity: Severity
    subject: Subject
    start: float  # epoch seconds of the first evidence
    end: float  # epoch seconds just after the last evidence
    score: float
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "severity": self.severity.label,
            "subject": self.subject.as_dict(),
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "score": round(float(self.score), 3),
            "evidence": self.evidence,
            "message": self.message,
        }


@dataclass
class FileStats:
    """What one input file held: lines used, lines skipped by reason."""

    path: str
    format: str
    lines: int = 0
    used: int = 0
    outside_window: int = 0
    selftest: int = 0  # lines of the gateway self-test's own requests, left out (not skipped)
    skipped: dict[str, int] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None
    damaged_gzip: bool = False  # only the readable beginning of a cut-off gzip file was read
    read_from: int = 0  # bytes an earlier run had read already (an incremental run reads only what follows)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())
