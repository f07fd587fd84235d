"""Detection quality: a simulated week with injected incidents of every kind, scored against the truth.

Run by hand (never from the test suite):

    .venv/bin/python -m benchmarks.detection_quality [--seeds 1 2 3] [--clients 60] [--requests-per-day 150000]

For each seed: compile a policy from the spec fixtures, simulate seven days (five clean days to
learn from, two with incidents of every detector's kind), audit the last two days after learning
the first five (``--train``), and match the findings against truth.json (same detector, same
subject fields, overlapping windows). Prints recall and precision per detector over all seeds,
and overall. Targets: recall >= 0.95 and precision >= 0.90 overall, every detector >= 1 true
positive. Scratch data lives under --workdir and is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks.audit_throughput import compile_bench_policy
from log_analysis.detectors import DETECTORS
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.simulate import INJECTORS, SimulationOptions, simulate
from log_analysis.simulate.truth import DetectorScore, score, totals


def one_week(work: Path, policy_file: Path, seed: int, requests_per_day: int) -> dict[str, DetectorScore]:
    policy = json.loads(policy_file.read_text())
    sim = simulate(
        policy,
        SimulationOptions(
            work / f"seed{seed}",
            days=7,
            train_days=5,
            seed=seed,
            workers=2,
            requests_per_day=requests_per_day,
            incidents=tuple(INJECTORS),
        ),
    )
    options = AuditOptions(
        logs=[Path(p) for p in sim.audit_files],
        policy=policy_file,
        state_dir=work / f"state{seed}",
        train=[Path(p) for p in sim.train_files],
        gateway_config=Path(sim.gateway_config),
    )
    result = run_audit(options)
    truth = json.loads(Path(sim.truth_file).read_text())
    scores = score(result.report["findings"], truth["incidents"], list(DETECTORS))
    missed = [i for i in truth["incidents"] if not any(_matches(f, i) for f in result.report["findings"])]
    false = [f for f in result.report["findings"] if not any(_matches(f, i) for i in truth["incidents"])]
    print(
        f"seed {seed}: {sim.lines:,} lines, {len(truth['incidents'])} incidents, "
        f"{len(result.findings)} findings, {len(missed)} missed, {len(false)} false"
    )
    for incident in missed:
        print(f"  missed: {incident['detector']} {incident['subject']} ({incident['note']})")
    for finding in false:
        print(f"  false:  {finding['detector']} {finding['subject']}: {finding['message']}")
    return scores


def _matches(finding: dict, incident: dict) -> bool:
    from log_analysis.simulate.truth import matches

    return matches(finding, incident)


def merge(total: dict[str, DetectorScore], scores: dict[str, DetectorScore]) -> None:
    for name, entry in scores.items():
        into = total.setdefault(name, DetectorScore(name))
        into.incidents += entry.incidents
        into.found += entry.found
        into.findings += entry.findings
        into.true_findings += entry.true_findings


def _ratio(value: float | None) -> str:
    return "   -" if value is None else f"{value:4.2f}"


def print_table(total: dict[str, DetectorScore]) -> None:
    print(
        f"\n{'detector':<16} {'incidents':>9} {'found':>6} {'findings':>9} {'true':>5} {'recall':>7} {'precision':>9}"
    )
    for name in DETECTORS:
        s = total.get(name, DetectorScore(name))
        print(
            f"{name:<16} {s.incidents:>9} {s.found:>6} {s.findings:>9} {s.true_findings:>5} "
            f"{_ratio(s.recall):>7} {_ratio(s.precision):>9}"
        )
    overall = totals(total)
    print(
        f"{'all':<16} {overall.incidents:>9} {overall.found:>6} {overall.findings:>9} {overall.true_findings:>5} "
        f"{_ratio(overall.recall):>7} {_ratio(overall.precision):>9}"
    )
    without_hit = [name for name in DETECTORS if total.get(name, DetectorScore(name)).true_findings == 0]
    print(f"detectors without a true positive: {', '.join(without_hit) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--requests-per-day", type=int, default=150_000)
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp/audit-quality"))  # noqa: S108 - scratch data
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        policy_file = compile_bench_policy(args.workdir, args.clients)
        total: dict[str, DetectorScore] = {}
        for seed in args.seeds:
            merge(total, one_week(args.workdir, policy_file, seed, args.requests_per_day))
        print_table(total)
        print(f"({len(args.seeds)} simulated weeks in {time.monotonic() - started:.0f} s)")
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
