"""``airgapctl audit``: scan stored gateway logs for anomalies and policy drift, write offline reports.

``audit run`` is the scheduled audit (its body is airgapctl.cli.audit_run, which the entry point also
runs without Typer for a plain command line); ``audit simulate`` writes realistic logs with injected
incidents (and their ground truth) to tune thresholds or demo it; ``audit detectors`` lists what
runs. ``audit run --fleet`` runs every gateway's own audit through Ansible and merges their reports
(its body is airgapctl.cli.audit_fleet). The work is done by log_analysis (pipeline.run_audit,
simulate.simulate).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from airgapctl.errors import BadInputError
from airgapctl.output import print_json, print_table
from airgapctl.provision.options import FLEET_INVENTORY_OPT, RUNS_DIR_OPT, VAULT_FILE_OPT, VAULT_ID_OPT

app = typer.Typer(
    help="Scan stored gateway access logs for anomalies and policy drift and write offline reports.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

LOGS_OPT = typer.Option(
    None,
    "--logs",
    metavar="PATH",
    show_default=False,
    help="Access log files or directories (JSON lines or combined, plain or .gz); several may follow one --logs."
    " Required unless --fleet.",
)
MORE_LOGS_ARG = typer.Argument(
    None, metavar="[PATH]...", help="More log files, e.g. from a shell glob after --logs.", show_default=False
)
POLICY_OPT = typer.Option(
    None,
    "--policy",
    help="The current compiled policy (policy.json from 'airgapctl specs compile'). [default: none: "
    "the anomaly detectors run, the drift detectors do not]",
    show_default=False,
)
STATE_OPT = typer.Option(
    None,
    "--state",
    help="Directory keeping, between runs, the learned baseline and how far each log file was read: "
    "a run reads only what the logs gained since the last one. [default: none: every file is read whole "
    "and only the detectors that need no baseline run]",
    show_default=False,
)
FULL_OPT = typer.Option(
    False,
    "--full",
    help="Read every log file from its start again, and leave the baseline and read positions in --state as they were.",
)
REPORT_DIR_OPT = typer.Option(
    None, "--report-dir", help="Where to write audit-<time>.<format> reports; latest.<format> links to the newest."
)
KEEP_OPT = typer.Option(
    None,
    "--keep",
    min=1,
    metavar="N",
    help="Keep only the reports of the N newest runs in --report-dir. [default: keep all]",
    show_default=False,
)
SINCE_OPT = typer.Option(
    None,
    "--since",
    metavar="TIME",
    help="Only lines at or after TIME: ISO 8601 (UTC unless "
    "it has an offset) or a span back from now such as 24h or 7d.",
)
UNTIL_OPT = typer.Option(None, "--until", metavar="TIME", help="Only lines before TIME (same forms as --since).")
# None, not the default value itself: audit run --fleet refuses a local audit's option given at all.
FORMAT_OPT = typer.Option(
    None, "--format", metavar="LIST", show_default=False,
    help="Report formats, comma-separated: json, html, md. [default: json]",
)  # fmt: skip
FAIL_ON_OPT = typer.Option(
    "high",
    "--fail-on",
    metavar="SEVERITY",
    help="Exit 1 when a finding reaches this severity (info, low, medium, high, critical) or 'none' never to.",
)
NO_LEARN_OPT = typer.Option(
    False,
    "--no-learn",
    help="Leave --state as it was: neither learn this run into the baseline nor move its read positions "
    "(the next run reads these lines again).",
)
TRAIN_OPT = typer.Option(
    None, "--train", metavar="PATH", help="Learn from these historical logs first (repeat for several files)."
)
GATEWAY_CONFIG_OPT = typer.Option(
    None,
    "--gateway-config",
    help="Deployed gateway configuration directory for config_drift. [default: /etc/nginx/airgap when it exists]",
    show_default=False,
)
DRIFT_OPT = typer.Option(
    None,
    "--drift",
    metavar="FILE",
    help="A drift report (airgapctl drift --out FILE): config_drift reports each task that would change on a host.",
    show_default=False,
)
SELFTEST_RECORD_OPT = typer.Option(
    None,
    "--selftest-record",
    metavar="FILE",
    help="The gateway self-test's record of its requests (airgapctl gateway selftest --record): their lines are"
    " left out, neither judged nor learned. [default: /var/lib/airgap/gateway/selftest-requests.jsonl when it exists]",
    show_default=False,
)
LOG_FORMAT_OPT = typer.Option(
    None, "--log-format", metavar="TEXT", show_default=False,
    help="Log format: auto (sniffed per file), json or combined. [default: auto]",
)  # fmt: skip
PARAM_OPT = typer.Option(
    None,
    "--param",
    metavar="DETECTOR.NAME=VALUE",
    help="Override a detector parameter (see 'airgapctl audit detectors'); repeatable.",
)
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
QUIET_OPT = typer.Option(False, "--quiet", help="No progress on stderr.")


# A fleet audit's own options; the inventory, runs and vault ones are provision's (airgapctl.provision.options).
FLEET_OPT = typer.Option(
    False, "--fleet",
    help="Audit every gateway of -i INVENTORY where its logs are (each runs its scheduled audit now, through "
    "Ansible, in parallel) and merge their reports into one site report; see docs/fleet-audit.md.",
)  # fmt: skip
FLEET_LIMIT_OPT = typer.Option(
    None, "--limit", metavar="PATTERN", help="With --fleet: only the gateways matching PATTERN (as Ansible's)."
)
FLEET_PLAYBOOK_OPT = typer.Option(
    None, "--playbook", metavar="PATH", show_default=False,
    help="With --fleet: the playbook each appliance audits with. [default: the toolkit's playbooks/audit_fleet.yml]",
)  # fmt: skip


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


@app.callback()
def audit() -> None:
    """Scan stored gateway access logs for anomalies and policy drift and write offline reports."""


@app.command("run")
def run(
    logs: list[Path] = LOGS_OPT,
    more_logs: list[Path] | None = MORE_LOGS_ARG,
    policy: Path | None = POLICY_OPT,
    state: Path | None = STATE_OPT,
    full: bool = FULL_OPT,
    report_dir: Path | None = REPORT_DIR_OPT,
    keep: int | None = KEEP_OPT,
    since: str | None = SINCE_OPT,
    until: str | None = UNTIL_OPT,
    formats: str | None = FORMAT_OPT,
    fail_on: str = FAIL_ON_OPT,
    no_learn: bool = NO_LEARN_OPT,
    train: list[Path] | None = TRAIN_OPT,
    gateway_config: Path | None = GATEWAY_CONFIG_OPT,
    drift: Path | None = DRIFT_OPT,
    selftest_record: Path | None = SELFTEST_RECORD_OPT,
    log_format: str | None = LOG_FORMAT_OPT,
    params: list[str] | None = PARAM_OPT,
    as_json: bool = JSON_OPT,
    quiet: bool = QUIET_OPT,
    fleet: bool = FLEET_OPT,
    inventory: Path | None = FLEET_INVENTORY_OPT,
    limit: str | None = FLEET_LIMIT_OPT,
    playbook: Path | None = FLEET_PLAYBOOK_OPT,
    runs_dir: Path | None = RUNS_DIR_OPT,
    vault_password_file: Path | None = VAULT_FILE_OPT,
    vault_id: list[str] | None = VAULT_ID_OPT,
) -> None:
    """Audit access logs against the policy and the learned baseline; exit 1 when a finding reaches --fail-on.

    Exit 2 when nothing could be judged: a file none of whose lines could be read (a wrong
    --log-format, not a log), or no line at all (empty files, nothing new since the last run).
    Every run that judged lines is also recorded as an airgap.audit.run event (docs/events.md).

    With --fleet -i INVENTORY, every gateway of the inventory runs its audit service (the
    audit_schedule role's airgap-audit.service) now, where its logs are; the reports are fetched
    into --report-dir as hosts/<host>/audit-<time>.<format> and merged into fleet-<time>.json, .md
    and .html (fleet-latest.* link to the newest): a table per appliance and every finding with
    the appliance it came from. The Ansible run is recorded under --runs-dir as provision's are.
    --report-dir defaults to /var/lib/airgap/fleet as root, else $XDG_STATE_HOME/airgapctl/fleet or
    ~/.local/state/airgapctl/fleet. Exit 0 when every appliance reported, 1 when a finding reaches
    --fail-on, 2 on bad input or an inventory that does not load (nothing is run), 4 when an
    appliance failed, was unreachable or sent no valid report (the site report covers the others).
    """
    from airgapctl.cli.audit_run import run_command

    run_command(
        logs=logs, more_logs=more_logs, policy=policy, state=state, full=full, report_dir=report_dir, keep=keep,
        since=since, until=until, formats=formats, fail_on=fail_on, no_learn=no_learn, train=train,
        gateway_config=gateway_config, log_format=log_format, params=params, as_json=as_json, quiet=quiet,
        drift=drift, selftest_record=selftest_record, fleet=fleet, inventory=inventory, limit=limit, playbook=playbook,
        runs_dir=runs_dir, vault_password_file=vault_password_file, vault_id=vault_id,
    )  # fmt: skip


SIM_POLICY_OPT = typer.Option(..., "--policy", help="Compiled policy whose clients and operations the logs use.")
OUT_OPT = typer.Option(..., "--out", help="Directory for the day files, gateway/ and truth.json.")
DAYS_OPT = typer.Option(7, "--days", min=1, help="Days of traffic.")
TRAIN_DAYS_OPT = typer.Option(5, "--train-days", min=0, help="Leading days without incidents (for --train).")
START_OPT = typer.Option("2026-02-25", "--start", metavar="YYYY-MM-DD", help="First day (local time).")
RATE_OPT = typer.Option(100_000, "--requests-per-day", min=1, help="Average requests per day over all clients.")
INCIDENTS_OPT = typer.Option(
    "all",
    "--incidents",
    metavar="LIST",
    help="Incident kinds to inject on the audit days, comma-separated detector names, 'all' or 'none'.",
)
SEED_OPT = typer.Option(7, "--seed", help="Random seed: the same arguments give the same files.")
GZIP_OPT = typer.Option(False, "--gzip", help="Write gzip-compressed day files.")
OFFSET_OPT = typer.Option(60, "--utc-offset-minutes", help="Local time offset the lines are written with.")
WORKERS_OPT = typer.Option(1, "--workers", min=1, help="Processes writing days in parallel.")
CLIENTS_OPT = typer.Option(0, "--clients", min=0, help="How many of the policy's clients take part (0: all).")


@app.command("simulate")
def simulate_logs(
    policy: Path = SIM_POLICY_OPT,
    out: Path = OUT_OPT,
    days: int = DAYS_OPT,
    train_days: int = TRAIN_DAYS_OPT,
    start: str = START_OPT,
    requests_per_day: int = RATE_OPT,
    incidents: str = INCIDENTS_OPT,
    seed: int = SEED_OPT,
    gzip: bool = GZIP_OPT,
    utc_offset_minutes: int = OFFSET_OPT,
    workers: int = WORKERS_OPT,
    clients: int = CLIENTS_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Write realistic gateway logs for a policy, with injected incidents and a ground-truth file."""
    from airgapctl.gateway.policy import load_policy
    from log_analysis.options import parse_incident_kinds
    from log_analysis.simulate import INJECTORS, SimulationOptions, simulate

    document, _ = load_policy(policy)
    kinds = parse_incident_kinds(incidents, tuple(INJECTORS))
    try:
        first_day = date.fromisoformat(start)
        options = SimulationOptions(
            out,
            days,
            train_days,
            first_day,
            requests_per_day,
            kinds,
            seed,
            utc_offset_minutes,
            gzip,
            workers=workers,
            clients=clients,
        )
        result = simulate(document, options)
    except ValueError as error:
        raise BadInputError(str(error), hint="see 'airgapctl audit simulate --help'") from None
    _print_simulation(result, out, as_json)


def _print_simulation(result, out: Path, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "lines": result.lines,
                "train_files": result.train_files,
                "audit_files": result.audit_files,
                "truth": result.truth_file,
                "gateway_config": result.gateway_config,
                "incidents": len(result.incidents),
            }
        )
        return
    print(f"{result.lines:,} lines in {len(result.train_files) + len(result.audit_files)} files under {out}")
    print(
        f"  train: {len(result.train_files)} file(s); audit: {len(result.audit_files)} file(s); "
        f"{len(result.incidents)} incident(s) in {result.truth_file}"
    )


@app.command("detectors")
def detectors(as_json: bool = JSON_OPT) -> None:
    """List the detectors: what each looks for, its statistic, parameters and whether it needs a baseline."""
    from log_analysis.detectors import REGISTRY

    rows = [
        {
            "id": d.id,
            "severity": d.severity.label,
            "baseline": "yes" if d.needs_baseline else "no",
            "parameters": ", ".join(f"{k}={v:g}" for k, v in d.parameters.items()) or "-",
            "statistic": d.statistic,
        }
        for d in REGISTRY
    ]
    if as_json:
        print_json(
            {
                "detectors": [
                    {**row, "description": d.description, "parameters": d.parameters}
                    for row, d in zip(rows, REGISTRY, strict=True)
                ]
            }
        )
        return
    print_table(rows, ["id", "severity", "baseline", "parameters", "statistic"])
