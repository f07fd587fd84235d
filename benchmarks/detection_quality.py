"""Detection quality: simulated weeks with injected incidents, scored against the truth.

Run by hand (never from the test suite):

    .venv/bin/python -m benchmarks.detection_quality [--seeds 1 2 3] [--clients 60] [--requests-per-day 150000]

For each seed: compile a policy from the spec fixtures, simulate seven days (five clean days to
learn from, two with incidents), audit the last two days after learning the first five
(``--train``), and match the findings against truth.json (same detector, same subject fields,
overlapping windows). Three weeks per seed:

* gateway: the gateway's JSON lines, incidents of every detector's kind;
* combined: the same week written as combined lines of a server that knows no identities and logs
  no policy id (as a site migrating to the gateway has them), audited with the policy; the truth
  follows what such logs can show: clients become their source addresses, a scanner's address is a
  new source, an expired certificate is a client's 400s (error_ratio), and latency (no request
  time), role_drift (no identity) and policy_mismatch (no policy id) are left out;
* scanner: only the probing and auth_failures incidents, a scanner without a client certificate
  among them: it must be probing, and auth_failures must keep to the clients failing.

Prints recall and precision per detector for each week and over all of them. Targets: recall >=
0.95 and precision >= 0.90 overall, every detector >= 1 true positive. Scratch data lives under
--workdir and is deleted at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from pathlib import Path

from benchmarks.audit_throughput import compile_bench_policy
from log_analysis.detectors import DETECTORS
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.simulate import INJECTORS, SimulationOptions, simulate
from log_analysis.simulate.truth import DetectorScore, score, totals

WEEKS = ("gateway", "combined", "scanner")
# What combined logs of a server without identities or policy ids cannot show.
_NOT_IN_COMBINED = {"latency", "role_drift", "policy_mismatch"}


def one_week(work: Path, policy_file: Path, seed: int, requests_per_day: int, week: str) -> dict[str, DetectorScore]:
    policy = json.loads(policy_file.read_text())
    kinds = ("probing", "auth_failures") if week == "scanner" else tuple(INJECTORS)
    sim = simulate(
        policy,
        SimulationOptions(
            work / f"{week}{seed}",
            days=7,
            train_days=5,
            seed=seed,
            workers=2,
            requests_per_day=requests_per_day,
            incidents=kinds,
        ),
    )
    truth = json.loads(Path(sim.truth_file).read_text())
    train, audit, incidents = [Path(p) for p in sim.train_files], [Path(p) for p in sim.audit_files], truth["incidents"]
    if week == "combined":
        train, audit = [as_combined(p) for p in train], [as_combined(p) for p in audit]
        incidents = combined_truth(incidents, policy)
    options = AuditOptions(
        logs=audit,
        policy=policy_file,
        state_dir=work / f"state-{week}{seed}",
        train=train,
        gateway_config=Path(sim.gateway_config),
    )
    result = run_audit(options)
    truth = {"incidents": incidents}
    scores = score(result.report["findings"], truth["incidents"], list(DETECTORS))
    missed = [i for i in truth["incidents"] if not any(_matches(f, i) for f in result.report["findings"])]
    false = [f for f in result.report["findings"] if not any(_matches(f, i) for i in truth["incidents"])]
    print(
        f"{week} week, seed {seed}: {sim.lines:,} lines, {len(truth['incidents'])} incidents, "
        f"{len(result.findings)} findings, {len(missed)} missed, {len(false)} false"
    )
    for incident in missed:
        print(f"  missed: {incident['detector']} {incident['subject']} ({incident['note']})")
    for finding in false:
        print(f"  false:  {finding['detector']} {finding['subject']}: {finding['message']}")
    return scores


def as_combined(path: Path) -> Path:
    """The day's gateway lines as combined lines of a server that knows no identities; lines that are
    no JSON (damaged on purpose) are kept as they are."""
    target = path.with_name(path.stem + ".combined.log")
    with path.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as sink:
        for text in source:
            try:
                line = json.loads(text)
            except ValueError:
                sink.write(text)
                continue
            when = dt.datetime.fromisoformat(line["time"]).strftime("%d/%b/%Y:%H:%M:%S %z")
            sink.write(
                f'{line["remote_addr"]} - - [{when}] "{line["method"]} {line["uri"]} HTTP/1.1" '
                f'{line["status"]} {line["bytes_out"]} "-" "client/1.0"\n'
            )
    return target


def combined_truth(incidents: list[dict], policy: dict) -> list[dict]:
    """What a correct audit of the combined week reports (see the module's docstring)."""
    addresses = {
        client["name"]: f"10.{20 + index // 200}.{index % 200}.10" for index, client in enumerate(policy["clients"])
    }
    expected = []
    for incident in incidents:
        detector, subject = incident["detector"], dict(incident["subject"])
        if detector in _NOT_IN_COMBINED:
            continue
        if "client" in subject:
            subject = {"remote_addr": subject.get("remote_addr") or addresses[subject.pop("client")]}
            subject.pop("operation", None)
        if detector == "auth_failures" and incident["note"] == "expired certificate":
            detector = "error_ratio"
        expected.append({**incident, "detector": detector, "subject": subject})
        if detector in ("probing", "auth_failures") and subject.get("remote_addr", "").startswith("10.66."):
            expected.append({**incident, "detector": "new_client", "subject": subject, "note": "a new source"})
    return expected


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
    parser.add_argument("--weeks", nargs="+", choices=WEEKS, default=list(WEEKS))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        policy_file = compile_bench_policy(args.workdir, args.clients)
        total: dict[str, DetectorScore] = {}
        for week in args.weeks:
            weekly: dict[str, DetectorScore] = {}
            for seed in args.seeds:
                scores = one_week(args.workdir, policy_file, seed, args.requests_per_day, week)
                merge(weekly, scores)
                merge(total, scores)
            print(f"\n== {week} week")
            print_table(weekly)
        print("\n== all weeks")
        print_table(total)
        print(f"({len(args.seeds) * len(args.weeks)} simulated weeks in {time.monotonic() - started:.0f} s)")
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
