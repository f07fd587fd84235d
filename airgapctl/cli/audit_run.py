"""``airgapctl audit run`` without the command-line framework: its body, and a strict reading of its
command line that the console entry point tries before building the Typer app.

A scheduled audit runs every morning, and most days it reads a few minutes of new lines: building
the Typer tree and validating its options costs such a run more than reading them. ``parse_run``
reads only plain command lines (known options, plain values); anything else (``--help``, an
unknown, repeated-flag-with-value or dash-led value, a path that cannot be read, shell completion)
gives None, and the Typer app parses the line, with its own messages. Both end in ``run_command``
with the same values (tests/cli/test_audit_fast_path.py holds the two readings to each other).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

# `audit run`'s options: name -> (parameter, kind). Kinds: path, paths (repeatable), text, texts
# (repeatable), count (an integer of at least 1), flag.
OPTIONS: dict[str, tuple[str, str]] = {
    "--logs": ("logs", "paths"),
    "--policy": ("policy", "path"),
    "--state": ("state", "path"),
    "--full": ("full", "flag"),
    "--report-dir": ("report_dir", "path"),
    "--keep": ("keep", "count"),
    "--since": ("since", "text"),
    "--until": ("until", "text"),
    "--format": ("formats", "text"),
    "--fail-on": ("fail_on", "text"),
    "--no-learn": ("no_learn", "flag"),
    "--train": ("train", "paths"),
    "--gateway-config": ("gateway_config", "path"),
    "--drift": ("drift", "path"),
    "--selftest-record": ("selftest_record", "path"),
    "--log-format": ("log_format", "text"),
    "--param": ("params", "texts"),
    "--json": ("as_json", "flag"),
    "--quiet": ("quiet", "flag"),
    "--fleet": ("fleet", "flag"),
    "--inventory": ("inventory", "path"),
    "--limit": ("limit", "text"),
    "--playbook": ("playbook", "path"),
    "--runs-dir": ("runs_dir", "path"),
    "--vault-password-file": ("vault_password_file", "path"),
    "--vault-id": ("vault_id", "texts"),
}
MORE_LOGS = "more_logs"  # the positional PATHs after --logs
DEFAULTS: dict[str, Any] = {
    "logs": [],
    MORE_LOGS: [],
    "policy": None,
    "state": None,
    "full": False,
    "report_dir": None,
    "keep": None,
    "since": None,
    "until": None,
    "formats": None,
    "fail_on": "high",
    "no_learn": False,
    "train": [],
    "gateway_config": None,
    "drift": None,
    "selftest_record": None,
    "log_format": None,
    "params": [],
    "as_json": False,
    "quiet": False,
    "fleet": False,
    "inventory": None,
    "limit": None,
    "playbook": None,
    "runs_dir": None,
    "vault_password_file": None,
    "vault_id": [],
}
# What only a local audit reads and only a fleet audit reads; --report-dir, --fail-on and --json are both's.
LOCAL_ONLY = (
    "logs", MORE_LOGS, "policy", "state", "full", "keep", "since", "until", "formats", "no_learn", "train",
    "gateway_config", "drift", "selftest_record", "log_format", "params", "quiet",
)  # fmt: skip
FLEET_ONLY = ("inventory", "limit", "playbook", "runs_dir", "vault_password_file", "vault_id")
_COUNT = re.compile(r"[1-9][0-9]{0,17}")
COMPLETE_VARIABLE = "_AIRGAPCTL_COMPLETE"  # set by the shell asking for completions: Typer answers those


def parse_run(args: list[str]) -> dict[str, Any] | None:
    """``run_command``'s arguments for ``args`` (what follows ``audit run``), or None to leave the line to Typer."""
    if COMPLETE_VARIABLE in os.environ:
        return None
    values: dict[str, Any] = {
        name: list(value) if isinstance(value, list) else value for name, value in DEFAULTS.items()
    }
    words = iter(args)
    for word in words:
        if word == "--":
            rest = list(words)
            if "" in rest:
                return None
            values[MORE_LOGS].extend(rest)
            break
        if not word.startswith("-"):
            if not word:
                return None
            values[MORE_LOGS].append(word)
            continue
        name, equals, given = word.partition("=")
        option = OPTIONS.get(name)
        if option is None:
            return None  # --help, a short option, an unknown one: Typer's to answer
        parameter, kind = option
        if kind == "flag":
            if equals:
                return None
            values[parameter] = True
            continue
        value = given if equals else next(words, None)
        if not value or value.startswith("-"):
            return None
        if kind == "count":
            if not _COUNT.fullmatch(value):
                return None
            values[parameter] = int(value)
        elif kind in ("paths", "texts"):
            values[parameter].append(value)
        else:
            values[parameter] = value
    if not values["logs"]:
        return None  # a fleet audit, or no logs at all: the Typer path, whose body says which
    for parameter, kind in OPTIONS.values():
        if kind == "path" and values[parameter] is not None:
            values[parameter] = Path(values[parameter])
        elif kind == "paths":
            values[parameter] = [Path(value) for value in values[parameter]]
    values[MORE_LOGS] = [Path(value) for value in values[MORE_LOGS]]
    given = [values[p] for p, kind in OPTIONS.values() if kind == "path" and values[p] is not None]
    given += [path for p, kind in OPTIONS.values() if kind == "paths" for path in values[p]] + values[MORE_LOGS]
    return values if all(map(_readable, given)) else None


def _readable(path: Path) -> bool:
    """False for a path that exists and cannot be read: Typer refuses it with its own message."""
    try:
        os.stat(path)
    except OSError:
        return True
    return os.access(path, os.R_OK)


def run_command(
    *,
    logs: list[Path],
    more_logs: list[Path] | None,
    policy: Path | None,
    state: Path | None,
    full: bool,
    report_dir: Path | None,
    keep: int | None,
    since: str | None,
    until: str | None,
    formats: str | None,
    fail_on: str,
    no_learn: bool,
    train: list[Path] | None,
    gateway_config: Path | None,
    log_format: str | None,
    params: list[str] | None,
    as_json: bool,
    quiet: bool,
    drift: Path | None = None,
    selftest_record: Path | None = None,
    fleet: bool = False,
    inventory: Path | None = None,
    limit: str | None = None,
    playbook: Path | None = None,
    runs_dir: Path | None = None,
    vault_password_file: Path | None = None,
    vault_id: list[str] | None = None,
) -> None:
    """Audit access logs against the policy and the learned baseline (or, with --fleet, every gateway of
    an inventory where its logs are); AuditFindingsError when a finding reaches --fail-on."""
    given = {name: value for name, value in locals().items() if value not in (None, [], False)}
    _check_mode(fleet, given)
    if fleet:
        from airgapctl.cli.audit_fleet import run_command as run_fleet

        run_fleet(
            inventory=inventory, limit=limit, report_dir=report_dir, fail_on=fail_on, as_json=as_json,
            playbook=playbook, runs_dir=runs_dir, vault_password_file=vault_password_file, vault_id=vault_id,
        )  # fmt: skip
        return
    from airgapctl.errors import AuditFindingsError
    from airgapctl.output import print_json
    from airgapctl.progress import NO_PROGRESS, TerminalReporter
    from log_analysis.options import audit_options
    from log_analysis.pipeline import run_audit

    options = audit_options(
        logs=[*logs, *(more_logs or [])], policy=policy, state=state, report_dir=report_dir, keep=keep, since=since,
        until=until, formats=formats or "json", fail_on=fail_on, learn=not no_learn, train=list(train or []),
        gateway_config=gateway_config, log_format=log_format or "auto", params=list(params or []), full=full,
        drift=drift, selftest_record=selftest_record,
    )  # fmt: skip
    progress = NO_PROGRESS if quiet or as_json else TerminalReporter(sys.stderr)
    result = run_audit(options, progress)
    failed = result.failed(options.fail_on)
    if as_json:
        print_json({**_summary(result), "findings": result.report["findings"]}, status="failed" if failed else "ok")
    else:
        _print_summary(result.report, _summary(result))
    _emit_run_event(result, failed)
    if failed:
        reached = sum(1 for f in result.findings if options.fail_on is not None and f.severity >= options.fail_on)
        raise AuditFindingsError(
            f"{reached} finding(s) at or above {fail_on}",
            hint="see the report" + (f" {result.written[0]}" if result.written else "s' findings above"),
        )


def _check_mode(fleet: bool, given: dict[str, Any]) -> None:
    """A local audit and a fleet audit read different options: one given to the other is refused, not ignored."""
    from airgapctl.errors import BadInputError

    if fleet:
        stray = [name for name in LOCAL_ONLY if name in given]
        if stray:
            raise BadInputError(
                f"audit run --fleet: {_option(stray[0])} is a local audit's option",
                hint="each appliance audits with its own audit_schedule settings; drop it, or audit local logs "
                "without --fleet",
            )
        if "inventory" not in given:
            raise BadInputError("audit run --fleet: no inventory given", hint="add -i INVENTORY (the site's inventory)")
        return
    stray = [name for name in FLEET_ONLY if name in given]
    if stray:
        raise BadInputError(
            f"audit run: {_option(stray[0])} applies only to a fleet audit", hint="add --fleet, or drop it"
        )
    if "logs" not in given and MORE_LOGS not in given:
        raise BadInputError(
            "audit run: no logs given",
            hint="add --logs PATH (this machine's logs), or --fleet -i INVENTORY (every gateway's, where they are)",
        )


def _option(parameter: str) -> str:
    if parameter == MORE_LOGS:
        return "a log PATH"
    return next(name for name, (p, _) in OPTIONS.items() if p == parameter)


def _emit_run_event(result, failed: bool) -> None:
    """Every run that judged lines is an airgap.audit.run event (docs/events.md); a collector or spool
    that fails is one warning and leaves the run's exit code as it is."""
    from airgapctl.events import emit_or_warn
    from log_analysis.run_event import TAG, run_fields

    emit_or_warn(TAG, run_fields(result.report, failed, len(result.written)))


# The report's inputs the --json summary repeats.
_SUMMARY_INPUTS = (
    "lines_read", "lines_used", "lines_skipped", "skipped_by_reason", "lines_selftest", "incremental", "unchanged",
)  # fmt: skip


def _summary(result) -> dict:
    report = result.report
    return {
        **report["summary"],
        "window": report["window"],
        "identity_key": report["identity_key"],
        "inputs": {k: report["inputs"][k] for k in _SUMMARY_INPUTS},
        "reports": [str(p) for p in result.written],
        "notes": report["notes"],
        "baseline": str(result.baseline_file) if result.baseline_file else None,
        "reading": str(result.reading_file) if result.reading_file else None,
    }


def _print_summary(report: dict, summary: dict) -> None:
    from airgapctl.output import print_table

    inputs = report["inputs"]
    print(
        f"audit {report['window']['start']} .. {report['window']['end']}: {inputs['lines_read']:,} lines read, "
        f"{inputs['lines_skipped']:,} skipped, "
        + (f"{inputs['lines_selftest']:,} self-test requests left out, " if inputs["lines_selftest"] else "")
        + f"{summary['findings']} finding(s)"
    )
    rows = [
        {
            "severity": f["severity"],
            "detector": f["detector"],
            "subject": ",".join(f"{k}={v}" for k, v in f["subject"].items()) or "-",
            "start": f["window"]["start"],
            "message": f["message"][:100],
        }
        for f in report["findings"]
    ]
    print_table(rows, ["severity", "detector", "subject", "start", "message"])
    for note in report["notes"]:
        print(f"note: {note}")
    for path in summary["reports"]:
        print(f"report: {path}")
