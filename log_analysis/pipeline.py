"""One audit run: plan what to read, read, aggregate, detect, learn, report. The CLI only parses options
and calls run_audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.errors import BadInputError
from airgapctl.progress import NO_PROGRESS, Reporter
from log_analysis.baseline import Baseline, load_baseline, save_baseline, state_lock
from log_analysis.baseline.learn import learn
from log_analysis.context import ADDRESS, AuditContext, GatewayConfig, identity_key_of
from log_analysis.detectors import DETECTORS, REGISTRY
from log_analysis.engine import EngineOptions, engine, scan
from log_analysis.incremental import (
    ReadingState,
    Unchanged,
    load_reading,
    plan_reading,
    record_reading,
    save_reading,
    tail_of,
    with_carry,
)
from log_analysis.known_policy import read_audit_policy, remember_check
from log_analysis.model import FileStats, Finding, Severity, iso
from log_analysis.overview import overview
from log_analysis.readers import ReadOptions, discover_inputs
from log_analysis.reports import build_report, write_reports
from log_analysis.reports.retention import link_latest, prune_reports
from log_analysis.sanity import check_readable, nothing_new

DEFAULT_GATEWAY_CONFIG = Path("/etc/nginx/airgap")
FORMATS = ("json", "html", "md")


@dataclass
class AuditOptions:
    logs: list[Path]
    policy: Path | None = None  # None: no drift detectors, the anomaly detectors alone
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
    full: bool = False  # read every file from its start, and leave --state as it was


@dataclass
class AuditResult:
    report: dict[str, Any]
    findings: list[Finding]
    written: list[Path]
    baseline_file: Path | None
    reading_file: Path | None = None  # the read positions kept in --state

    def failed(self, fail_on: Severity | None) -> bool:
        return fail_on is not None and any(f.severity >= fail_on for f in self.findings)


def run_audit(options: AuditOptions, progress: Reporter = NO_PROGRESS) -> AuditResult:
    """``progress`` hears the stages and gets a bar for each pass over the logs.

    With a state directory, a run reads only what the logs gained since the last one (--full: all
    of it, leaving the state as it was), judges it together with the aggregates of the hour the
    last run stopped in, and keeps what it learned and how far it read for the next.
    """

    def say(text: str) -> None:
        progress.note(f"audit: {text}")

    policy, policy_check = (
        read_audit_policy(options.policy, options.state_dir) if options.policy is not None else (None, None)
    )
    _check(options)
    inputs = discover_inputs(options.logs, options.log_format)
    train_inputs = discover_inputs(options.train, options.log_format) if options.train else []
    read = ReadOptions(options.since, options.until, options.max_line_bytes)
    keeps_state = options.state_dir is not None and options.learn and not options.full
    with state_lock(options.state_dir):
        baseline = load_baseline(options.state_dir)
        reading = load_reading(options.state_dir)
        carry = None if options.full else reading.carry
        with engine(options.engine) as eng:
            plan = plan_reading(inputs, ReadingState() if options.full else reading, eng.work_dir)
            if not plan.planned:
                raise nothing_new(plan.unchanged)
            if train_inputs:
                whole = ReadOptions(max_line_bytes=options.max_line_bytes)
                train_data, _ = scan(eng, train_inputs, whole, policy, progress, "audit: training logs")
                baseline = learn(_context(train_data, policy, None, options, None), baseline)
            data, files = scan(eng, plan.inputs, read, policy, progress, "audit: logs")
            check_readable(files, plan.inputs, plan.unchanged)
            if keeps_state:
                record_reading(plan, files, reading)
        judged, carried_since = with_carry(data, carry)
        ctx = _context(judged, policy, baseline, options, _gateway_config(options), files)
        ctx.state_dir, ctx.may_write_state = options.state_dir, keeps_state
        if baseline is not None and baseline.identity_key != ctx.identity_key:
            ctx.notes.append(
                f"the baseline in --state was learned keyed on {baseline.identity_key}, these logs on "
                f"{ctx.identity_key}: the detectors that need a baseline did not run, and learning starts afresh"
            )
            ctx.baseline = None
        say("running detectors")
        findings, detector_runs = _detect(ctx, options)
        baseline_file = reading_file = None
        if keeps_state:
            assert options.state_dir is not None
            # The carried rows were learned by the run that read them: learn only what this run read.
            learned_from = ctx if carried_since is None else _context(data, policy, None, options, None)
            learned_from.identity_key = ctx.identity_key
            updated = learn(learned_from, baseline)
            if updated is not None:
                baseline_file = save_baseline(options.state_dir, updated)
            reading.carry = tail_of(judged)
            reading_file = save_reading(options.state_dir, reading)
            if policy_check is not None:
                remember_check(options.state_dir, policy_check)
        elif train_inputs and options.state_dir is not None and baseline is not None and not options.full:
            baseline_file = save_baseline(options.state_dir, baseline)
    reading_summary = {
        "incremental": options.state_dir is not None and not options.full,
        "unchanged": [u.as_dict() for u in plan.unchanged],
        "carried_from": iso(carried_since) if carried_since is not None else None,
    }
    report = build_report(
        ctx,
        findings,
        detector_runs,
        files,
        _baseline_summary(ctx.baseline, baseline_file),
        overview(ctx),
        reading_summary,
        _run_notes(options, ctx, plan.unchanged, carried_since),
    )
    written = []
    if options.report_dir:
        written = write_reports(report, options.report_dir, options.formats)
        link_latest(options.report_dir, written)
        if options.keep is not None:
            prune_reports(options.report_dir, options.keep)
    return AuditResult(report, findings, written, baseline_file, reading_file)


def _run_notes(
    options: AuditOptions, ctx: AuditContext, unchanged: list[Unchanged], carried_since: float | None
) -> list[str]:
    notes = []
    if ctx.identity_key == ADDRESS:
        notes.append("these logs carry no identity: baselines and actors are keyed on the source address")
    if options.full and options.state_dir is not None:
        notes.append("--full: every file was read from its start; the state in --state was left as it was")
    if unchanged:
        notes.append(f"{len(unchanged)} file(s) had nothing new since an earlier run: " + _names(unchanged))
    if carried_since is not None:
        notes.append(
            f"the hour from {iso(carried_since)} is judged with what the previous run read of it (kept in --state)"
        )
    return notes


def _names(unchanged: list[Unchanged]) -> str:
    shown = ", ".join(f"{u.path} ({u.why})" for u in unchanged[:3])
    return shown + (f" and {len(unchanged) - 3} more" if len(unchanged) > 3 else "")


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
    data: Any,
    policy: dict[str, Any] | None,
    baseline: Baseline | None,
    options: AuditOptions,
    config: GatewayConfig | None,
    files: list[FileStats] | None = None,
) -> AuditContext:
    start = options.since if options.since is not None else data.start
    end = options.until if options.until is not None else data.end
    now = dt.datetime.now(dt.UTC).timestamp()
    return AuditContext(
        data,
        policy,
        baseline,
        start if start is not None else now,
        end if end is not None else now,
        config,
        identity_key=identity_key_of(data),
        files=list(files or []),
    )


def _detect(ctx: AuditContext, options: AuditOptions) -> tuple[list[Finding], list[dict[str, Any]]]:
    findings: list[Finding] = []
    runs = []
    for detector in REGISTRY:
        skipped = None
        if detector.needs_policy and ctx.policy is None:
            skipped = "no policy"
        elif detector.needs_baseline and ctx.baseline is None:
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
