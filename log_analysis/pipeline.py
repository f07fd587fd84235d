"""One audit run: plan what to read, read, aggregate, detect, learn, report. The CLI only parses options
and calls run_audit.

While DuckDB scans the logs it holds no Python lock, and a daily run's scan of a few minutes of new
lines takes about as long as loading the baseline and the modules that judge them (detectors,
learning, reports): those are loaded meanwhile, on the machine's other core. The modules are
therefore imported where they are used, not with this one.
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airgapctl.errors import BadInputError
from airgapctl.progress import NO_PROGRESS, Reporter
from log_analysis.baseline import load_baseline, save_baseline, state_lock
from log_analysis.engine import EngineOptions, engine, scan, work_directory
from log_analysis.incremental import (
    ReadingState,
    Unchanged,
    load_reading,
    plan_reading,
    record_reading,
    remember_reported,
    reported_before,
    save_reading,
    tail_of,
    with_carry,
)
from log_analysis.known_policy import read_audit_policy, remember_check
from log_analysis.model import FileStats, Finding, Severity, iso
from log_analysis.readers import ReadOptions, discover_inputs
from log_analysis.sanity import check_readable, nothing_new
from log_analysis.selftest import selftest_requests

if TYPE_CHECKING:
    from log_analysis.aggregates import AuditData
    from log_analysis.baseline import Baseline
    from log_analysis.context import AuditContext, GatewayConfig
    from log_analysis.incremental import ReadingPlan

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
    selftest_record: Path | None = None  # None: log_analysis.selftest.DEFAULT_RECORD when it exists
    log_format: str = "auto"
    parameters: dict[str, dict[str, float]] = field(default_factory=dict)
    engine: EngineOptions = field(default_factory=EngineOptions)
    max_line_bytes: int = 16384
    full: bool = False  # read every file from its start, and leave --state as it was
    drift: Path | None = None  # a report of airgapctl drift --out, for config_drift


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
    # A run keeps hundreds of thousands of small objects (the aggregates, regrouped per actor and
    # window) until it ends, and leaves next to no reference cycles: Python's cycle collector would
    # walk them over and over, about 3 % of a full audit, to free a few hundred objects.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_audit(options, progress)
    finally:
        if collecting:
            gc.enable()


def _run_audit(options: AuditOptions, progress: Reporter) -> AuditResult:
    def say(text: str) -> None:
        progress.note(f"audit: {text}")

    policy, policy_check = (
        read_audit_policy(options.policy, options.state_dir) if options.policy is not None else (None, None)
    )
    _check(options)
    drift_report = _drift_report(options.drift)
    inputs = discover_inputs(options.logs, options.log_format)
    train_inputs = discover_inputs(options.train, options.log_format) if options.train else []
    selftest = selftest_requests(options.selftest_record)
    read = ReadOptions(options.since, options.until, options.max_line_bytes, selftest.requests)
    keeps_state = options.state_dir is not None and options.learn and not options.full
    with state_lock(options.state_dir):
        baseline, reading, plan, data, files = _read(options, inputs, train_inputs, read, policy, progress, keeps_state)
        carry = None if options.full else reading.carry
        from log_analysis.baseline.learn import learn
        from log_analysis.overview import overview
        from log_analysis.reports import build_report, write_reports
        from log_analysis.reports.retention import link_latest, prune_reports

        judged, carried_since = with_carry(data, carry)
        ctx = _context(judged, policy, baseline, options, _gateway_config(options), files)
        ctx.state_dir, ctx.may_write_state = options.state_dir, keeps_state
        ctx.drift_report, ctx.drift_file = drift_report, str(options.drift) if options.drift else None
        if baseline is not None and baseline.identity_key != ctx.identity_key:
            ctx.notes.append(
                f"the baseline in --state was learned keyed on {baseline.identity_key}, these logs on "
                f"{ctx.identity_key}: the detectors that need a baseline did not run, and learning starts afresh"
            )
            ctx.baseline = None
        say("running detectors")
        findings, detector_runs = _detect(ctx, options)
        repeated, earlier = 0, []
        if carried_since is not None and data.start is not None:
            findings, earlier = reported_before(findings, carry, data.start)
            repeated = len(earlier)
            for run in detector_runs:
                run["findings"] -= sum(1 for finding in earlier if finding.detector == run["id"])
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
            remember_reported(reading.carry, [*findings, *earlier])  # those left out were reported before
            reading_file = save_reading(options.state_dir, reading)
            if policy_check is not None:
                remember_check(options.state_dir, policy_check)
        elif train_inputs and options.state_dir is not None and baseline is not None and not options.full:
            baseline_file = save_baseline(options.state_dir, baseline)
    reading_summary = {
        "incremental": options.state_dir is not None and not options.full,
        "unchanged": [u.as_dict() for u in plan.unchanged],
        "carried_from": iso(carried_since) if carried_since is not None else None,
        "selftest_record": str(selftest.record) if selftest.record is not None else None,
    }
    report = build_report(
        ctx,
        findings,
        detector_runs,
        files,
        _baseline_summary(ctx.baseline, baseline_file),
        overview(ctx),
        reading_summary,
        [*_run_notes(options, ctx, plan.unchanged, carried_since, repeated), *selftest.notes],
    )
    written = []
    if options.report_dir:
        written = write_reports(report, options.report_dir, options.formats)
        link_latest(options.report_dir, written)
        if options.keep is not None:
            prune_reports(options.report_dir, options.keep)
    return AuditResult(report, findings, written, baseline_file, reading_file)


_NOT_LOADED: Any = object()


def _read(
    options: AuditOptions,
    inputs: list,
    train_inputs: list,
    read: ReadOptions,
    policy: dict[str, Any] | None,
    progress: Reporter,
    keeps_state: bool,
) -> tuple[Baseline | None, ReadingState, ReadingPlan, AuditData, list[FileStats]]:
    """The state, what to read and what it held: (baseline, reading, plan, data, files).

    The new part of a log is copied while DuckDB loads, and the baseline is loaded while DuckDB scans.
    A baseline that cannot be used is still reported before any problem of the logs, as when it was
    loaded first.
    """
    baseline = _NOT_LOADED
    try:
        reading = load_reading(options.state_dir)
        with work_directory() as work:
            known = ReadingState() if options.full else reading
            plan = plan_reading(inputs, known, work / "salvaged", copy_tails=False)
            if not plan.planned:
                raise nothing_new(plan.unchanged)
            copying = _Background(plan.copy_tails)
            with copying, engine(_engine_options(options.engine, plan, train_inputs), work) as eng:
                copying.result()
                if train_inputs:
                    from log_analysis.baseline.learn import learn

                    baseline = load_baseline(options.state_dir)
                    whole = ReadOptions(max_line_bytes=options.max_line_bytes, selftest=read.selftest)
                    train_data, _ = scan(eng, train_inputs, whole, policy, progress, "audit: training logs")
                    baseline = learn(_context(train_data, policy, None, options, None), baseline)
                    data, files = scan(eng, plan.inputs, read, policy, progress, "audit: logs")
                else:
                    with _Background(
                        lambda: scan(eng, plan.inputs, read, policy, progress, "audit: logs"), stop=eng.con.interrupt
                    ) as scanning:
                        loaded = load_baseline(options.state_dir)
                        _load_judging_modules()
                        data, files = scanning.result()
                    baseline = loaded
                check_readable(files, plan.inputs, plan.unchanged)
                if keeps_state:
                    record_reading(plan, files, reading)
    except Exception:
        if baseline is _NOT_LOADED:
            load_baseline(options.state_dir)  # raises first when the baseline is what cannot be used
        raise
    return baseline, reading, plan, data, files


# Up to this many bytes to read, DuckDB scans on one thread: a few minutes of new lines scan about as
# fast on one as on two, for a third less work, and the other core loads the baseline meanwhile.
ONE_THREAD_UP_TO = 64 << 20


def _engine_options(options: EngineOptions, plan: ReadingPlan, train_inputs: list) -> EngineOptions:
    if train_inputs or plan.size > ONE_THREAD_UP_TO:
        return options
    return replace(options, threads=1)


def _load_judging_modules() -> None:
    """Import what judges the scanned lines, so that it is loaded by the time the scan ends."""
    import log_analysis.baseline.learn
    import log_analysis.context
    import log_analysis.detectors
    import log_analysis.overview
    import log_analysis.reports
    import log_analysis.reports.retention  # noqa: F401


class _Background:
    """``work()`` in a thread of its own; ``result()`` waits for it and returns what it returned or
    raises what it raised. Leaving the ``with`` block by an error stops it (``stop``) and waits."""

    # Python's lock changes hands at most this often between two threads that both want it: short,
    # so that the background work is not kept waiting for long where it needs the lock between
    # DuckDB calls and copies.
    SWITCH_SECONDS = 0.0005

    def __init__(self, work: Callable[[], Any], stop: Callable[[], None] | None = None) -> None:
        self._stop = stop
        self._outcome: tuple[bool, Any] = (False, RuntimeError("the background work did not finish"))
        self._switch = sys.getswitchinterval()
        self._thread = threading.Thread(target=self._run, args=(work,), name="audit-background", daemon=True)
        sys.setswitchinterval(min(self._switch, self.SWITCH_SECONDS))
        try:
            self._thread.start()
        except BaseException:
            sys.setswitchinterval(self._switch)
            raise

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._outcome = (True, work())
        except BaseException as error:  # handed to the thread that waits for it
            self._outcome = (False, error)

    def result(self) -> Any:
        self._thread.join()
        sys.setswitchinterval(self._switch)
        done, value = self._outcome
        if not done:
            raise value
        return value

    def __enter__(self) -> _Background:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if error is not None and self._thread.is_alive():
            if self._stop is not None:
                self._stop()
            self._thread.join()
        sys.setswitchinterval(self._switch)


def _run_notes(
    options: AuditOptions,
    ctx: AuditContext,
    unchanged: list[Unchanged],
    carried_since: float | None,
    repeated: int = 0,
) -> list[str]:
    from log_analysis.context import ADDRESS

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
            + (f"; {repeated} finding(s) of that part alone, reported by the last run, left out" if repeated else "")
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
    if options.parameters:
        _check_parameters(options.parameters)


def _check_parameters(parameters: dict[str, dict[str, float]]) -> None:
    from log_analysis.detectors import DETECTORS

    for name, overrides in parameters.items():
        detector = DETECTORS.get(name)
        if detector is None:
            raise BadInputError(f"--param {name}.…: no detector {name!r}", hint=f"one of {', '.join(DETECTORS)}")
        for key in overrides:
            if key not in detector.parameters:
                known = ", ".join(detector.parameters) or "none"
                raise BadInputError(f"--param {name}.{key}: not a parameter of {name}", hint=f"its parameters: {known}")


def _drift_report(path: Path | None) -> dict[str, Any] | None:
    """--drift's report, read before the logs: a file that is not one is bad input at once."""
    if path is None:
        return None
    from log_analysis.drift.drift_report import load_drift_report

    return load_drift_report(path)


def _gateway_config(options: AuditOptions) -> GatewayConfig | None:
    from log_analysis.context import GatewayConfig

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
    from log_analysis.context import AuditContext, identity_key_of

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
    from log_analysis.detectors import REGISTRY

    findings: list[Finding] = []
    runs = []
    for detector in REGISTRY:
        skipped = None
        if detector.id == "config_drift" and ctx.drift_report is not None:
            pass  # the drift report is judged without a policy or the deployed configuration
        elif detector.needs_policy and ctx.policy is None:
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
