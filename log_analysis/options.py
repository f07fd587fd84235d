"""Command-line values turned into the pipeline's types, with one-line errors naming the option."""

from __future__ import annotations

from pathlib import Path

from airgapctl.errors import BadInputError
from log_analysis.model import Severity
from log_analysis.pipeline import AuditOptions
from log_analysis.timespec import parse_time

FAIL_ON_CHOICES = ("info", "low", "medium", "high", "critical", "none")


def parse_fail_on(text: str) -> Severity | None:
    """A severity, or None for 'none' (never fail)."""
    if text.strip().lower() == "none":
        return None
    try:
        return Severity.parse(text)
    except ValueError:
        raise BadInputError(
            f"--fail-on {text!r} is not a severity", hint=f"one of {', '.join(FAIL_ON_CHOICES)}"
        ) from None


def parse_time_option(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise BadInputError(
            f"{option} {text!r} is not a time",
            hint="use ISO 8601 (2026-03-01 or 2026-03-01T06:00:00+01:00) or a span such as 24h",
        ) from None


def parse_formats(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))


def parse_parameters(items: list[str]) -> dict[str, dict[str, float]]:
    """DETECTOR.NAME=NUMBER items; names are checked against the registry by the pipeline."""
    parsed: dict[str, dict[str, float]] = {}
    for item in items:
        key, _, value = item.partition("=")
        detector, _, name = key.strip().partition(".")
        try:
            parsed.setdefault(detector, {})[name] = float(value)
        except ValueError:
            raise BadInputError(
                f"--param {item!r}: expected DETECTOR.NAME=NUMBER", hint="e.g. --param rate_spike.z=8"
            ) from None
    return parsed


def parse_incident_kinds(text: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """'all', 'none' or a comma-separated list of detector names."""
    value = text.strip().lower()
    if value == "all":
        return known
    if value in ("", "none"):
        return ()
    kinds = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise BadInputError(f"--incidents: unknown kind(s) {', '.join(unknown)}", hint=f"known: {', '.join(known)}")
    return kinds


def audit_options(
    *,
    logs: list[Path],
    policy: Path | None,
    state: Path | None,
    report_dir: Path | None,
    keep: int | None = None,
    since: str | None,
    until: str | None,
    formats: str,
    fail_on: str,
    learn: bool,
    train: list[Path],
    gateway_config: Path | None,
    log_format: str,
    params: list[str],
    full: bool = False,
    drift: Path | None = None,
    selftest_record: Path | None = None,
) -> AuditOptions:
    """``airgapctl audit run``'s options, as typed, into the pipeline's."""
    return AuditOptions(
        logs=logs,
        policy=policy,
        state_dir=state,
        report_dir=report_dir,
        keep=keep,
        since=parse_time_option("--since", since),
        until=parse_time_option("--until", until),
        formats=parse_formats(formats),
        fail_on=parse_fail_on(fail_on),
        learn=learn,
        train=train,
        gateway_config=gateway_config,
        log_format=log_format,
        parameters=parse_parameters(params),
        full=full,
        drift=drift,
        selftest_record=selftest_record,
    )
