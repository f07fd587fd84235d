"""The simulation: normal traffic day by day, incidents on the audit days, the ground truth beside it."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import multiprocessing
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from log_analysis.simulate import anomalies, drift_cases
from log_analysis.simulate.events import Event, LineWriter, normal_event, poisson, served
from log_analysis.simulate.incidents import Incident, SimContext
from log_analysis.simulate.profiles import WINDOW, client_profiles, expected_requests, simulated_operations

# Incident kinds in the order they are placed (new_client first: it reserves a dormant identity).
INJECTORS: dict[str, Callable[[SimContext], list[Incident]]] = {
    "new_client": anomalies.new_client,
    "rate_spike": anomalies.rate_spike,
    "error_ratio": anomalies.error_ratio,
    "probing": anomalies.probing,
    "auth_failures": anomalies.auth_failures,
    "off_hours": anomalies.off_hours,
    "exfiltration": anomalies.exfiltration,
    "latency": anomalies.latency,
    "rate_limited": anomalies.rate_limited,
    "shadow_route": drift_cases.shadow_route,
    "zombie_route": drift_cases.zombie_route,
    "orphan_route": drift_cases.orphan_route,
    "role_drift": drift_cases.role_drift,
    "policy_mismatch": drift_cases.policy_mismatch,
    "config_drift": drift_cases.config_drift,
    "input_quality": anomalies.input_quality,
    # Last: the clients and operations the kinds above pick stay theirs.
    "forbidden_calls": anomalies.forbidden_calls,
    "schema_violation": anomalies.schema_violation,
}
TRUTH_SCHEMA = "airgapctl/audit-ground-truth"


@dataclass
class SimulationOptions:
    out_dir: Path
    days: int = 7
    train_days: int = 5  # leading days without incidents, for --train
    start: dt.date = dt.date(2026, 2, 25)  # a Wednesday: the default audit days are a Monday and a Tuesday
    requests_per_day: int = 100_000
    incidents: tuple[str, ...] = ()
    seed: int = 7
    utc_offset_minutes: int = 60
    compress: bool = False
    overdispersion: float = 0.2  # per-window log-normal noise on each client's rate
    workers: int = 1  # processes writing days in parallel (forked; keep 1 inside threaded programs)
    clients: int = 0  # how many of the policy's clients take part (0: all)


@dataclass
class SimulationResult:
    train_files: list[str]
    audit_files: list[str]
    truth_file: str
    gateway_config: str
    lines: int
    incidents: list[dict[str, Any]] = field(default_factory=list)


def simulate(policy: dict[str, Any], options: SimulationOptions) -> SimulationResult:
    """Write one access log per day under ``out_dir``, a gateway/ configuration and truth.json."""
    _check(options)
    ctx, midnight = _context(policy, options)
    # Scale every client's rate so that the days hold about requests_per_day each (before the incidents
    # are sized: a spike is a multiple of the client's real rate).
    expected = max(1.0, expected_requests(ctx.profiles, options.days, options.start.weekday()))
    for profile in ctx.profiles:
        profile.peak *= options.requests_per_day * options.days / expected
    incidents = [i for kind in INJECTORS if kind in options.incidents for i in INJECTORS[kind](ctx)]
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    day_files, lines = _write_days(out, options, ctx, incidents, midnight)
    config = _write_gateway_config(out / "gateway", policy, any(i.config_edit for i in incidents))
    result = SimulationResult(
        day_files[: options.train_days],
        day_files[options.train_days :],
        str(out / "truth.json"),
        str(config),
        lines,
        [i.truth() for i in incidents],
    )
    _write_truth(result, policy, ctx.audit_start, midnight + options.days * 86400, options.seed)
    return result


def _check(options: SimulationOptions) -> None:
    if not 0 <= options.train_days < options.days:
        raise ValueError("train_days must be at least 0 and less than days")
    unknown = sorted(set(options.incidents) - set(INJECTORS))
    if unknown:
        raise ValueError(f"unknown incident kind(s): {', '.join(unknown)}; known: {', '.join(INJECTORS)}")


def _context(policy: dict[str, Any], options: SimulationOptions) -> tuple[SimContext, float]:
    """The simulation's clients and operations, and the epoch of the first day's local midnight."""
    rng = random.Random(options.seed)  # noqa: S311 - reproducible test data, not secrets
    operations = simulated_operations(policy, rng)
    profiles = client_profiles(policy, operations, rng)[: options.clients or None]
    if not profiles:
        raise ValueError("the policy has no client that may call any live operation")
    midnight = dt.datetime.combine(options.start, dt.time(), dt.UTC).timestamp() - options.utc_offset_minutes * 60
    ctx = SimContext(
        policy,
        operations,
        profiles,
        rng,
        midnight + options.train_days * 86400,
        options.days - options.train_days,
        options.utc_offset_minutes * 60,
        (options.start.weekday() + options.train_days) % 7,
        policy["policy_id"],
    )
    return ctx, midnight


def _write_days(
    out: Path, options: SimulationOptions, ctx: SimContext, incidents: list[Incident], midnight: float
) -> tuple[list[str], int]:
    ctx.dormant.update(i.dormant_client for i in incidents if i.dormant_client)
    job = _DayJob(out, options, ctx, incidents, midnight)
    if options.workers > 1 and options.days > 1:
        # Days are independent (each reseeds the generator), so forked workers can write them side by side;
        # fork shares the incidents' closures, which cannot be pickled.
        _JOBS.append(job)
        try:
            with multiprocessing.get_context("fork").Pool(options.workers) as pool:
                results = pool.map(_write_job_day, range(options.days))
        finally:
            _JOBS.pop()
    else:
        results = [job.write(day) for day in range(options.days)]
    return [path for path, _ in results], sum(lines for _, lines in results)


@dataclass
class _DayJob:
    out: Path
    options: SimulationOptions
    ctx: SimContext
    incidents: list[Incident]
    midnight: float

    def write(self, day: int) -> tuple[str, int]:
        options, ctx = self.options, self.ctx
        ctx.rng.seed(f"{options.seed}-{day}")
        writer = LineWriter(options.utc_offset_minutes, ctx.rng)
        day_start = self.midnight + day * 86400
        name = dt.datetime.fromtimestamp(day_start + ctx.utc_offset, dt.UTC).strftime("access-%Y%m%d.log")
        path = self.out / (name + (".gz" if options.compress else ""))
        audit_day = day >= options.train_days
        active = [i for i in self.incidents if i.start < day_start + 86400 and i.end > day_start] if audit_day else []
        suppressed = {i.suppressed_operation for i in self.incidents if i.suppressed_operation} if audit_day else set()
        lines = 0
        with _open(path, options.compress) as stream:
            for window in range(int(day_start), int(day_start) + 86400, WINDOW):
                events = _window_events(ctx, options, window, suppressed, active)
                damaged = [
                    line
                    for i in active
                    if i.add_lines is not None and i.start < window + WINDOW and i.end > window
                    for line in i.add_lines(window)
                ]
                lines += len(events) + len(damaged)
                stream.write("".join(writer.line(e) for e in events) + "".join(damaged))
        return str(path), lines


_JOBS: list[_DayJob] = []


def _write_job_day(day: int) -> tuple[str, int]:
    return _JOBS[-1].write(day)


def _open(path: Path, compress: bool) -> IO[str]:
    # Level 1: the files are scratch data; speed matters more than size.
    return gzip.open(path, "wt", compresslevel=1, encoding="utf-8") if compress else path.open("w", encoding="utf-8")


def _window_events(
    ctx: SimContext, options: SimulationOptions, window: int, suppressed: set[str], active: list[Incident]
) -> list[Event]:
    rng, local = ctx.rng, window + ctx.utc_offset
    hour, weekday = int(local // 3600 % 24), dt.datetime.fromtimestamp(local, dt.UTC).weekday()
    events: list[Event] = []
    for profile in ctx.profiles:
        if profile.name in ctx.dormant:
            continue
        mean = profile.rate(hour, weekday) * rng.lognormvariate(0, options.overdispersion)
        events.extend(
            normal_event(window + rng.random() * WINDOW, profile, rng, ctx.policy_id) for _ in range(poisson(rng, mean))
        )
    if local % 86400 == 12 * 3600:
        events.extend(_keepalive(ctx, window, suppressed))
    for incident in active:
        if incident.add_events is not None and incident.start < window + WINDOW and incident.end > window:
            events.extend(incident.add_events(window))
    if suppressed:  # the orphaned operation is called by nobody, incidents' clients included
        events = [event for event in events if event.operation not in suppressed]
    for incident in active:
        if incident.change is not None:
            for event in events:
                if incident.start <= event.ts < incident.end and incident.applies(event):
                    incident.change(event)
    events.sort(key=lambda e: e.ts)
    return events


def _keepalive(ctx: SimContext, window: int, suppressed: set[str]) -> list[Event]:
    """A few calls of every live operation each day, so that only injected orphans go uncalled."""
    events = []
    for sim in ctx.live():
        callers = [p for p in ctx.profiles if p.name not in ctx.dormant and sim in p.operations]
        if sim.id in suppressed or not callers:
            continue
        for _ in range(3):
            caller = ctx.rng.choice(callers)
            events.append(
                served(window + ctx.rng.random() * WINDOW, caller, caller.addresses[0], sim, ctx.rng, ctx.policy_id)
            )
    return events


def _write_gateway_config(directory: Path, policy: dict[str, Any], edited: bool) -> Path:
    """The configuration the policy renders to, as deployed; with a hand edit when config_drift is injected."""
    from airgapctl.gateway.render import RenderOptions, render_templates, template_variables

    rendered = render_templates(template_variables(policy, RenderOptions()))
    if edited:
        text = rendered["gateway/server.conf"]
        changed = re.sub(r"ssl_verify_depth \d+;", "ssl_verify_depth 9;", text, count=1)
        rendered["gateway/server.conf"] = changed if changed != text else text + "    # edited by hand\n"
    for name, text in rendered.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return directory


def _write_truth(result: SimulationResult, policy: dict[str, Any], start: float, end: float, seed: int) -> None:
    document = {
        "schema": TRUTH_SCHEMA,
        "schema_version": 1,
        "policy_id": policy["policy_id"],
        "seed": seed,
        "train_files": result.train_files,
        "audit_files": result.audit_files,
        "gateway_config": result.gateway_config,
        "audit_window": {"start": start, "end": end},
        "lines": result.lines,
        "incidents": result.incidents,
    }
    Path(result.truth_file).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
