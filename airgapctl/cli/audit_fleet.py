"""``airgapctl audit fleet``: every gateway appliance audits its own logs now, through Ansible, and
their reports are merged into one site report (airgapctl.provision.audit_fleet).

A command of its own, not an ``audit run --fleet``: ``audit run`` reads logs on this machine and
its plain command line runs without Typer (airgapctl.cli.audit_run), where the fleet audit reads
an inventory and runs Ansible; the two share no option but --fail-on and --json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from airgapctl.cli.provision import INVENTORY_OPT, LIMIT_OPT, RUNS_DIR_OPT, VAULT_FILE_OPT, VAULT_ID_OPT
from airgapctl.errors import AuditFindingsError, BadInputError, ProvisionFailedError
from airgapctl.output import print_json, print_table, progress

TABLE = ["host", "status", "lines", "critical", "high", "medium", "low", "info"]

PLAYBOOK_OPT = typer.Option(
    None, "--playbook", metavar="PATH", show_default=False,
    help="The playbook each appliance audits with. [default: the toolkit's playbooks/audit_fleet.yml]",
)  # fmt: skip
REPORT_DIR_OPT = typer.Option(
    None, "--report-dir", metavar="DIR", show_default=False,
    help="Where the site report (fleet-<time>.json/.md/.html, fleet-latest.* links) and each appliance's "
    "reports (hosts/<host>/) are written. [default: /var/lib/airgap/fleet as root, "
    "else $XDG_STATE_HOME/airgapctl/fleet or ~/.local/state/airgapctl/fleet]",
)  # fmt: skip
FAIL_ON_OPT = typer.Option(
    "high", "--fail-on", metavar="SEVERITY",
    help="Exit 1 when a finding of any appliance reaches this severity (info, low, medium, high, critical) "
    "or 'none' never to.",
)  # fmt: skip
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document (the site report) instead of the table.")


def fleet(
    inventory: Path = INVENTORY_OPT,
    limit: str | None = LIMIT_OPT,
    report_dir: Path | None = REPORT_DIR_OPT,
    fail_on: str = FAIL_ON_OPT,
    as_json: bool = JSON_OPT,
    playbook: Path | None = PLAYBOOK_OPT,
    runs_dir: Path | None = RUNS_DIR_OPT,
    vault_password_file: Path | None = VAULT_FILE_OPT,
    vault_id: list[str] | None = VAULT_ID_OPT,
) -> None:
    """Audit every gateway appliance where its logs are, in parallel, and merge their reports into one site report.

    Each gateway of INVENTORY runs its audit service (the audit_schedule role's airgap-audit.service)
    now; the reports it writes are fetched into --report-dir as hosts/<host>/audit-<time>.<format>
    and merged into fleet-<time>.json, .md and .html (fleet-latest.* link to the newest): a table
    per appliance and every finding with the appliance it came from. Progress goes to stderr; the
    Ansible run is recorded under --runs-dir as provision's are. Exit 0 when every appliance's
    audit ran and reported, 1 when a finding reaches --fail-on, 2 on bad input or an inventory
    that does not load (nothing is run), 4 when an appliance failed, was unreachable or sent no
    valid report (the site report covers the others).
    """
    from airgapctl.provision import audit_fleet
    from airgapctl.provision.ansible_env import Vault
    from log_analysis.options import parse_fail_on

    threshold = parse_fail_on(fail_on)
    vault = Vault.resolve(vault_password_file, vault_id or [])
    playbook = playbook or audit_fleet.default_playbook()
    for what, path in (("inventory", inventory), ("playbook", playbook), ("vault password file", vault.password_file)):
        if path is not None and not path.exists():
            raise BadInputError(f"{what} {path} does not exist")
    if report_dir is not None and report_dir.exists() and not report_dir.is_dir():
        raise BadInputError(f"--report-dir {report_dir} is not a directory")
    _check_inventory(inventory, limit, vault)
    from airgapctl.provision.record import default_runs_dir

    result = audit_fleet.run_fleet(
        inventory.resolve(), playbook.resolve(), (report_dir or audit_fleet.default_report_dir()).absolute(),
        runs_dir or default_runs_dir(), vault, limit=limit,
    )  # fmt: skip
    _conclude(result, threshold, fail_on, as_json)


def _check_inventory(inventory: Path, limit: str | None, vault: Any) -> None:
    """The inventory must load as provision's preflight loads it; the other checks judge what a
    provision run would deploy, which an audit does not."""
    from airgapctl.provision.preflight import check_inventory

    problems = check_inventory(inventory, limit=limit, vault_password_file=vault.password_file, vault_ids=vault.ids)
    for problem in problems:
        progress(f"{problem.where}: {problem.what} ({problem.fix})")
    if problems:
        raise BadInputError(
            f"audit fleet: {len(problems)} problem(s) with the inventory, nothing was run",
            hint="fix each line above, then run again",
        )


def _conclude(result: Any, threshold: Any, fail_on: str, as_json: bool) -> None:
    from log_analysis.reports import fleet

    summary, document = result.summary, result.document
    if document is None:
        why = f": {summary.ansible_errors[0]}" if summary.ansible_errors else ""
        raise ProvisionFailedError(
            f"audit fleet: ansible-playbook ended {summary.runner['status']} (exit {summary.runner['rc']}) "
            f"before any appliance ran{why}",
            hint=f"Ansible's error lines are above and in {summary.directory}/summary.json",
        )
    complete, reached = fleet.complete(document), fleet.reaches(document, threshold)
    if as_json:
        print_json(document, status="error" if not complete else "failed" if reached else "ok")
    else:
        _print_report(document)
    progress(f"audit fleet: run {summary.run_id} recorded in {summary.directory}")
    for path in result.written:
        progress(f"audit fleet: site report {path}")
    if not complete:
        missing = [f"{h['host']} ({h['status'].replace('_', ' ')})" for h in document["hosts"] if h["status"] != "ok"]
        raise ProvisionFailedError(
            f"audit fleet: no report merged from {len(missing)} appliance(s): {', '.join(missing)}",
            hint="why is in the site report's notes; the other appliances' findings are in it",
        )
    if reached:
        raise AuditFindingsError(
            f"audit fleet: {reached} finding(s) at or above {fail_on}",
            hint=f"see the site report {_html(result.written)}",
        )


def _html(written: list[Path]) -> Path:
    return next(path for path in written if path.suffix == ".html")


def _print_report(document: dict[str, Any]) -> None:
    rows = []
    for host in document["hosts"]:
        counts = host["by_severity"] or {}
        rows.append(
            {
                "host": host["host"],
                "status": host["status"].replace("_", " "),
                "lines": f"{host['lines_used']:,}" if host["lines_used"] is not None else "-",
                **{label: counts.get(label, "-") for label in TABLE[3:]},
            }
        )
    print_table(rows, TABLE)
    for host in document["hosts"]:
        if host["error"]:
            print(f"{host['host']}: {host['status'].replace('_', ' ')}: {host['error']}")
    summary = document["summary"]
    print(
        f"\n{summary['findings']} finding(s) from {summary['by_status']['ok']} of {summary['hosts']} appliance(s), "
        f"highest severity: {summary['highest_severity'] or 'none'}"
    )
