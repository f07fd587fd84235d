"""``airgapctl audit run --fleet``'s body (its options are declared in airgapctl.cli.audit): every gateway
appliance audits its own logs now, through Ansible, and their reports are merged into one site
report (airgapctl.provision.audit_fleet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airgapctl.errors import AuditFindingsError, BadInputError, ProvisionFailedError
from airgapctl.output import print_json, print_table, progress

TABLE = ["host", "status", "lines", "critical", "high", "medium", "low", "info"]


def run_command(
    *,
    inventory: Path,
    limit: str | None,
    report_dir: Path | None,
    fail_on: str,
    as_json: bool,
    playbook: Path | None,
    runs_dir: Path | None,
    vault_password_file: Path | None,
    vault_id: list[str] | None,
) -> None:
    """Run the fleet audit and report it; ProvisionFailedError when an appliance sent no valid
    report, AuditFindingsError when a finding reaches --fail-on."""
    from airgapctl.provision import audit_fleet
    from airgapctl.provision.ansible_env import Vault
    from airgapctl.provision.record import default_runs_dir
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
            f"fleet audit: {len(problems)} problem(s) with the inventory, nothing was run",
            hint="fix each line above, then run again",
        )


def _conclude(result: Any, threshold: Any, fail_on: str, as_json: bool) -> None:
    from log_analysis.reports import fleet

    summary, document = result.summary, result.document
    if document is None:
        why = f": {summary.ansible_errors[0]}" if summary.ansible_errors else ""
        raise ProvisionFailedError(
            f"fleet audit: ansible-playbook ended {summary.runner['status']} (exit {summary.runner['rc']}) "
            f"before any appliance ran{why}",
            hint=f"Ansible's error lines are above and in {summary.directory}/summary.json",
        )
    complete, reached = fleet.complete(document), fleet.reaches(document, threshold)
    if as_json:
        print_json(document, status="error" if not complete else "failed" if reached else "ok")
    else:
        _print_report(document)
    progress(f"fleet audit: run {summary.run_id} recorded in {summary.directory}")
    for path in result.written:
        progress(f"fleet audit: site report {path}")
    if not complete:
        missing = [f"{h['host']} ({h['status'].replace('_', ' ')})" for h in document["hosts"] if h["status"] != "ok"]
        raise ProvisionFailedError(
            f"fleet audit: no report merged from {len(missing)} appliance(s): {', '.join(missing)}",
            hint="why is in the site report's notes; the other appliances' findings are in it",
        )
    if reached:
        raise AuditFindingsError(
            f"fleet audit: {reached} finding(s) at or above {fail_on}",
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
