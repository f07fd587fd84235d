"""One audit run: read, aggregate, detect, learn, report. The CLI only parses options and calls run_audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.errors import BadInputError
from airgapctl.gateway.policy import load_policy
from airgapctl.progress import NO_PROGRESS, Reporter
from log_analysis.baseline import Baseline, load_baseline, save_baseline, state_lock
from log_analysis.baseline.learn import learn
from log_analysis.context import AuditContext, GatewayConfig
from log_analysis.detectors import DETECTORS, REGISTRY
from log_analysis.engine import EngineOptions, engine, scan
from log_analysis.model import Finding, Severity
from log_analysis.overview import overview
from log_analysis.readers import ReadOptions, discover_inputs
from log_analysis.reports import build_report, write_reports
from log_analysis.reports.retention import link_latest, prune_reports

DEFAULT_GATEWAY_CONFIG = Path("/etc/nginx/airgap")
FORMATS = ("json", "html", "md")


@dataclass
class AuditOptions:
    logs: list[Path]
    policy: Path
    state_dir: Path | None = None
    report_dir: Path | None = None
    keep: int | None = None  # report runs kept in report_dir; None keeps all
    since: float | None = None
    until: float | None = None
    formats: tuple[str, ...] = ("json",)
    fail_on: Severity | None = Severity.HIGH
    learn: bool = True
    train: list[Path] = field(default_factory=list)
    gateway_config: Path | None = None  # None: DEFAULT_GATEWAY_CONFIG when it exists
    log_format: str = "auto"
    parameters: dict[str, dict[str, float]] = field(default_factory=dict)
    engine: EngineOptions = field(default_factory=EngineOptions)
    max_line_bytes: int = 16384


@dataclass
class AuditResult:
    report: dict[str, Any]
    findings: list[Finding]
    written: list[Path]
    baseline_file: Path | None

    def failed(self, fail_on: Severity | None) -> bool:
        return fail_on is not None and any(f.severity >= fail_on for f in self.findings)


def run_audit(options: AuditOptions, progress: Reporter = NO_PROGRESS) -> AuditResult:
    """``progress`` hears the stages and gets a bar for each pass over the logs."""

    def say(text: str) -> None:
        progress.note(f"audit: {text}")

    policy, _ = load_policy(options.policy)
    _check(options)
    inputs = discover_inputs(options.logs, options.log_format)
    train_inputs = discover_inputs(options.train, options.log_format) if options.train else []
    read = ReadOptions(options.since, options.until, options.max_line_bytes)
    with state_lock(options.state_dir), engine(options.engine) as eng:
        baseline = load_baseline(options.state_dir)
        if train_inputs:
            whole = ReadOptions(max_line_bytes=options.max_line_bytes)
            train_data, _ = scan(eng, train_inputs, whole, policy, progress, "audit: training logs")
            baseline = learn(_context(train_data, policy, None, options, None), baseline)
        data, files = scan(eng, inputs, read, policy, progress, "audit: logs")
    ctx = _context(data, policy, baseline, options, _gateway_config(options))
    say("running detectors")
    findings, detector_runs = _detect(ctx, options)
    baseline_file = None
    if options.learn and options.state_dir is not None:
        updated = learn(ctx, baseline)
        if updated is not None:
            baseline_file = save_baseline(options.state_dir, updated)
    elif train_inputs and options.state_dir is not None and baseline is not None:
        baseline_file = save_baseline(options.state_dir, baseline)
    report = build_report(
        ctx, findings, detector_runs, files, _baseline_summary(baseline, baseline_file), overview(ctx)
    )
    written = []
    if options.report_dir:
        written = write_reports(report, options.report_dir, options.formats)
        link_latest(options.report_dir, written)
        if options.keep is not None:
            prune_reports(options.report_dir, options.keep)
    return AuditResult(report, findings, written, baseline_file)


def _check(options: AuditOptions) -> None:
    unknown = sorted(set(options.formats) - set(FORMATS))
    if unknown:
        raise BadInputError(f"--format {','.join(unknown)}: not a report format", hint="use json, html and/or md")
    if options.since is not None and options.until is not None and options.since >= options.until:
        raise BadInputError("--since must be earlier than --until")
    for name, overrides in options.parameters.items():
        detector = DETECTORS.get(name)
        if detector is None:
            raise BadInputError(f"--param {name}.…: no detector {name!r}", hint=f"one of {', '.join(DETECTORS)}")
        for key in overrides:
            if key not in detector.parameters:
                known = ", ".join(detector.parameters) or "none"
                raise BadInputError(f"--param {name}.{key}: not a parameter of {name}", hint=f"its parameters: {known}")


def _gateway_config(options: AuditOptions) -> GatewayConfig | None:
    if options.gateway_config is not None:
        if not options.gateway_config.is_dir():
            raise BadInputError(
                f"--gateway-config {options.gateway_config}: no such directory",
                hint="give the deployed NGINX prefix directory of the gateway",
            )
        return GatewayConfig(options.gateway_config, explicit=True)
    if DEFAULT_GATEWAY_CONFIG.is_dir():
        return GatewayConfig(DEFAULT_GATEWAY_CONFIG, explicit=False)
    return None


def _context(
    data: Any, policy: dict[str, Any], baseline: Baseline | None, options: AuditOptions, config: GatewayConfig | None
) -> AuditContext:
    start = options.since if options.since is not None else data.start
    end = options.until if options.until is not None else data.end
    now = dt.datetime.now(dt.UTC).timestamp()
    return AuditContext(
        data, policy, baseline, start if start is not None else now, end if end is not None else now, config
    )


def _detect(ctx: AuditContext, options: AuditOptions) -> tuple[list[Finding], list[dict[str, Any]]]:
    findings: list[Finding] = []
    runs = []
    for detector in REGISTRY:
        skipped = None
        if detector.needs_baseline and ctx.baseline is None:
            skipped = "no baseline yet (give --state, or learn first with --train)"
        elif detector.id == "config_drift" and ctx.gateway_config is None:
            skipped = f"no --gateway-config and {DEFAULT_GATEWAY_CONFIG} does not exist"
        produced = [] if skipped else detector.run(ctx, options.parameters.get(detector.id))
        findings.extend(produced)
        runs.append(
            {
                "id": detector.id,
                "ran": skipped is None,
                "not_run_because": skipped,
                "findings": len(produced),
                "description": detector.description,
                "statistic": detector.statistic,
                "parameters": {**detector.parameters, **options.parameters.get(detector.id, {})},
            }
        )
    findings.sort(key=lambda f: (-f.severity, f.start, f.detector))
    return findings, runs


def _baseline_summary(baseline: Baseline | None, saved: Path | None) -> dict[str, Any]:
    if baseline is None:
        return {"present": False, "updated": saved is not None}
    return {
        "present": True,
        "updated": saved is not None,
        "runs": baseline.runs,
        "clients": len(baseline.clients),
        "operations": len(baseline.operations),
        "learned_lines": baseline.learned_lines,
        "first": baseline.first,
        "last": baseline.last,
    }
