"""Full audit throughput on simulated gateway logs, side by side with GoAccess on the same file.

Run by hand (never from the test suite):

    .venv/bin/python -m benchmarks.audit_throughput [--lines 5000000] [--with-20m] [--workdir /var/tmp/audit-bench]

Steps: compile a policy from the spec fixtures (150 clients); simulate days of 5M lines each (every
incident kind on the last days but input_quality's damaged lines: a file holding any is read a
second time, as text, to count them by reason, which is not the pass measured here); run one
untimed audit to learn a baseline; then time the full audit of one day (every detector, drift with
--gateway-config, baseline update, JSON report, read positions kept in --state) as a separate
``airgapctl`` process, and GoAccess 1.7 (Debian package ``goaccess``; JSON log format, HTML output)
on the same file. Prints lines/s of both, the ratio and each process's peak RSS (from wait4). Then
the incremental run: 1 % more lines (the next day's first ones) are appended to the day's file and
the same command runs again, reading only those; it prints the speed-up over the full run, and,
for scale, the start-up of the Typer app (``audit run --help``, which a plain ``audit run`` line
does without) and of Python. --repeat N times each measurement N times (the full audit from the
same trained state, GoAccess, the incremental run from the state the full audit left) and prints
the medians. The ``airgapctl`` processes run as an installed airgapctl does: with Python's bytecode
cache (kept under --workdir: in an environment with PYTHONDONTWRITEBYTECODE every run would compile
the package again) and with events off (AIRGAPCTL_EVENTS=off: a run's event is one message to the
local collector, and without a collector it would be spooled on this machine). With --with-20m it
also audits 20M lines twice (with --full, so that the read positions do not make them incremental): one file
holding the day four times over (four times the lines, the same clients, operations and windows),
which shows that memory does not grow with lines, and four different days (four times the windows
too), which shows what it grows with instead. Scratch data lives under --workdir and is deleted at
the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from airgapctl.specs.compile import compile_files, write_policy
from airgapctl.specs.validate import validate_spec
from log_analysis.simulate import INJECTORS, SimulationOptions, simulate

SPECS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "specs"
AIRGAPCTL = str(Path(sys.executable).with_name("airgapctl"))
# GoAccess reads the gateway's JSON lines with this mapping (%x: the ISO 8601 time with its offset).
GOACCESS_FORMAT = (
    '{"time": "%x", "remote_addr": "%h", "method": "%m", "uri": "%U", "status": "%s", '
    '"bytes_out": "%b", "request_time": "%T", "client": "%e"}'
)


def compile_bench_policy(directory: Path, clients: int = 150) -> Path:
    access = {
        "version": 1, "site": "bench", "defaults": {"max_body_bytes": 4096, "deprecated": "warn"},
        "apis": [
            {"name": "pets", "spec": str(SPECS / "petstore30/openapi.yaml"), "base_path": "/pets",
             "upstream": {"url": "http://127.0.0.1:9/v1"}},
            {"name": "inventory", "spec": str(SPECS / "inventory31.yaml"), "base_path": "/inventory",
             "upstream": {"url": "http://127.0.0.1:9"}},
            {"name": "legacy", "spec": str(SPECS / "swagger20.yaml"), "base_path": "/legacy",
             "upstream": {"url": "http://127.0.0.1:9/api"}},
        ],
        "roles": [{"name": "reader", "allow": [{"method": "GET", "path": "/**"}]},
                  {"name": "admin", "allow": [{"path": "/**"}]}],
        "clients": [{"name": f"client{i:03d}", "subject": f"CN=client{i:03d},O=Bench",
                     "roles": ["admin" if i % 3 == 0 else "reader"]} for i in range(clients)],
    }  # fmt: skip
    (directory / "access.yml").write_text(yaml.safe_dump(access))
    policy = compile_files(directory / "access.yml", validate_spec).policy
    write_policy(policy, directory / "policy.json")
    return directory / "policy.json"


# The environment of the airgapctl processes (see the module's docstring); set by run().
CHILD_ENV: dict[str, str] | None = None


def child_environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(work / "pycache"), "AIRGAPCTL_EVENTS": "off"}


def timed(argv: list[str]) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB, exit code) of one child process."""
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode() if process.stderr else ""
    # Exit 1 is findings at --fail-on, or a crash ("internal error"): only the first is a measurement.
    if process.returncode not in (0, 1) or "internal error" in errors:
        sys.exit(f"{argv[0]} failed: {errors[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode


def count_lines(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 24):
                total += chunk.count(b"\n")
    return total


def audit_argv(policy: Path, logs: list[str], state: Path, reports: Path, gateway: str, *extra: str) -> list[str]:
    return [
        AIRGAPCTL,
        "audit",
        "run",
        "--logs",
        *logs,
        "--policy",
        str(policy),
        "--state",
        str(state),
        "--report-dir",
        str(reports),
        "--format",
        "json",
        "--gateway-config",
        gateway,
        "--fail-on",
        "none",
        "--quiet",
        *extra,
    ]


def run_goaccess(log: str, out: Path) -> tuple[float, float, float, int]:
    return timed(
        [
            "goaccess",
            log,
            "--log-format",
            GOACCESS_FORMAT,
            "--datetime-format",
            "%Y-%m-%dT%H:%M:%S%z",
            "--no-global-config",
            "--no-progress",
            "-o",
            str(out / "goaccess.html"),
        ]
    )


def repeated(times: int, run_once) -> tuple[float, float, float, int]:
    """The median wall time, CPU time and peak RSS of ``times`` runs, each taken on its own."""
    runs = [run_once() for _ in range(times)]
    if times > 1:
        print(f"{'':<28} {times} runs: " + ", ".join(f"{r[0]:.2f}" for r in runs) + " s wall")
    wall, cpu, rss = (statistics.median(r[i] for r in runs) for i in range(3))
    return wall, cpu, rss, runs[-1][3]


def report(label: str, lines: int, measured: tuple[float, float, float, int]) -> float:
    wall, cpu, rss, _ = measured
    rate = lines / wall
    print(
        f"{label:<28} {lines:>11,} lines {wall:8.2f} s {rate:>12,.0f} lines/s  cpu {cpu:7.2f} s  "
        f"peak RSS {rss:7.0f} MiB"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=5_000_000, help="lines per simulated day")
    parser.add_argument("--with-20m", action="store_true", help="also audit four days (4 x --lines) at once")
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp/audit-bench"))  # noqa: S108 - scratch data
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (and reuse its logs)")
    parser.add_argument("--skip-goaccess", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="time each measurement N times; medians")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, args.workdir)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)


def simulated_days(work: Path, policy_file: Path, days: int, lines: int) -> dict:
    """Weekdays only (from a Monday), so that every day holds about ``lines`` lines; reused when kept."""
    truth = work / "logs" / "truth.json"
    if truth.exists():
        kept = json.loads(truth.read_text())
        if len(kept["audit_files"]) >= days - 1 and not any(
            i["detector"] == "input_quality" for i in kept["incidents"]
        ):
            return kept
    started = time.monotonic()
    options = SimulationOptions(
        work / "logs",
        days=days,
        train_days=1,
        start=dt.date(2026, 3, 2),
        requests_per_day=lines,
        incidents=tuple(kind for kind in INJECTORS if kind != "input_quality"),
        workers=2,
    )
    sim = simulate(json.loads(policy_file.read_text()), options)
    print(f"simulated {sim.lines:,} lines in {time.monotonic() - started:.0f} s under {work}")
    return json.loads(truth.read_text())


def repeated_file(source: Path, target: Path, times: int) -> Path:
    if not target.exists():
        with target.open("wb") as sink:
            for _ in range(times):
                with source.open("rb") as stream:
                    shutil.copyfileobj(stream, sink, 1 << 24)
    return target


def machine_check() -> str:
    """A fixed single-threaded workload: on a shared machine, how much CPU this run really got."""
    started, cpu = time.monotonic(), time.process_time()
    total = 0
    for number in range(20_000_000):
        total += number
    wall, used = time.monotonic() - started, time.process_time() - cpu
    return f"reference loop (20M additions): {wall:.2f} s wall, {used:.2f} s cpu"


def restored(saved: Path, state: Path) -> Path:
    """``state`` as ``saved`` holds it."""
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(saved, state)
    return state


def timed_from(saved: Path, state: Path, argv: list[str]) -> tuple[float, float, float, int]:
    """One timed run of ``argv`` with ``state`` restored from ``saved`` first (untimed)."""
    restored(saved, state)
    return timed(argv)


def run(args: argparse.Namespace, work: Path) -> None:
    global CHILD_ENV
    CHILD_ENV = child_environment(work)
    print(machine_check())
    policy_file = compile_bench_policy(work)
    sim = simulated_days(work, policy_file, 5 if args.with_20m else 3, args.lines)
    train, day, gateway = sim["train_files"][0], sim["audit_files"][0], sim["gateway_config"]
    state, reports = work / "state", work / "reports"
    shutil.rmtree(state, ignore_errors=True)
    timed(audit_argv(policy_file, [train], state, reports, gateway))  # learn a baseline, untimed
    trained = restored(state, work / "state-trained")
    lines = count_lines([day])
    full_argv = audit_argv(policy_file, [day], state, reports, gateway)
    full = repeated(args.repeat, lambda: timed_from(trained, state, full_argv))
    ours = report("airgapctl audit (full)", lines, full)
    if not args.skip_goaccess:
        theirs = report("goaccess 1.7 (JSON, HTML)", lines, repeated(args.repeat, lambda: run_goaccess(day, work)))
        print(f"{'ratio':<28} {ours / theirs:.1f}x GoAccess")
    after_full = restored(state, work / "state-after-full")
    daily = Daily(policy_file, Path(day), Path(sim["audit_files"][1]), state, after_full, reports, gateway)
    incremental(daily, lines, full, args.repeat)
    if args.with_20m:
        # Four times the lines over the same keys: one file holding the day four times over.
        same = [str(repeated_file(Path(day), work / "day-x4.log", 4))]
        measured = timed(audit_argv(policy_file, same, state, reports, gateway, "--full"))
        report("one file, day x4 (4x lines)", count_lines(same), measured)
        # Four different days: four times the lines and four times the time windows (keys).
        four = sim["audit_files"][:4]
        report(
            "4 days (4x lines and keys)",
            count_lines(four),
            timed(audit_argv(policy_file, four, state, reports, gateway, "--full")),
        )
    print(machine_check())


@dataclass
class Daily:
    """What the incremental run needs: the policy, the day's file and the next one's, the state
    directory and a copy of it as the full audit left it, the reports and the gateway directory."""

    policy_file: Path
    day: Path
    next_day: Path
    state: Path
    after_full: Path
    reports: Path
    gateway: str


def incremental(daily: Daily, lines: int, full: tuple[float, float, float, int], repeat: int = 1) -> None:
    """Append 1 % more lines to the day's file, audit it again from the state the full audit left,
    then cut the file back (so that a kept work directory stays as simulated)."""
    size = daily.day.stat().st_size
    added = max(1, lines // 100)
    with daily.next_day.open("rb") as source, daily.day.open("ab") as sink:
        for _ in range(added):
            sink.write(source.readline())
    argv = audit_argv(daily.policy_file, [str(daily.day)], daily.state, daily.reports, daily.gateway)
    try:
        measured = repeated(repeat, lambda: timed_from(daily.after_full, daily.state, argv))
    finally:
        os.truncate(daily.day, size)
    report("airgapctl audit (incremental)", added, measured)
    print(f"{'speed-up':<28} {full[0] / measured[0]:.1f}x faster than the full audit of {lines:,} lines")
    for label, argv in (
        ("the Typer app", [AIRGAPCTL, "audit", "run", "--help"]),
        ("Python", [sys.executable, "-c", "pass"]),
    ):
        timed(argv)  # once untimed, so that its bytecode is cached
        shown = " ".join([Path(argv[0]).name, *argv[1:]])
        print(f"{'for scale: ' + label:<28} {timed(argv)[0]:.2f} s ({shown})")


if __name__ == "__main__":
    main()
