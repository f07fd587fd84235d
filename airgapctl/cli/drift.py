"""``airgapctl drift``: what the site playbook would change on each host, from a check-and-diff run
through the provision runner (airgapctl.provision.drift), changing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from airgapctl.cli.provision import LIMIT_OPT, PLAYBOOK_OPT, TAGS_OPT
from airgapctl.errors import BadInputError, DriftFoundError, ProvisionFailedError
from airgapctl.output import print_json, print_table, progress
from airgapctl.provision.options import INVENTORY_OPT, RUNS_DIR_OPT, VAULT_FILE_OPT, VAULT_ID_OPT

EVENT = "drift.run"
TABLE = ["host", "would change", "not checked"]
INDENT = "    "

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document (the drift report) instead of the text.")
OUT_OPT = typer.Option(
    None, "--out", metavar="FILE", show_default=False,
    help="Also write the drift report to FILE as JSON (mode 0600), for 'airgapctl audit run --drift FILE'.",
)  # fmt: skip


def register(root: typer.Typer) -> None:
    root.command(name="drift")(drift)


def drift(
    inventory: Path = INVENTORY_OPT,
    playbook: Path | None = PLAYBOOK_OPT,
    limit: str | None = LIMIT_OPT,
    tags: str | None = TAGS_OPT,
    as_json: bool = JSON_OPT,
    out: Path | None = OUT_OPT,
    runs_dir: Path | None = RUNS_DIR_OPT,
    vault_password_file: Path | None = VAULT_FILE_OPT,
    vault_id: list[str] | None = VAULT_ID_OPT,
) -> None:
    """Report what the site playbook would change on each host: a check and diff run, changing nothing.

    Per host, the tasks that would change, each with its diff (never a no_log task's, nor one that
    writes credentials), and the tasks check mode could not check (commands, modules without check
    mode, tasks skipped in check mode, failures). Progress goes to stderr; the run is recorded
    under --runs-dir as provision's are. Exit 0 when nothing would change, 5 when something
    would, 2 on bad input or an inventory that does not load (nothing is run), 4 when a host
    failed or was unreachable or ansible-playbook stopped early (the report covers what was checked).
    """
    from airgapctl.provision.ansible_env import Vault, default_playbook

    vault = Vault.resolve(vault_password_file, vault_id or [])
    playbook = playbook or default_playbook()
    for what, path in (("inventory", inventory), ("playbook", playbook), ("vault password file", vault.password_file)):
        if path is not None and not path.exists():
            raise BadInputError(f"{what} {path} does not exist")
    if out is not None and not out.parent.is_dir():
        raise BadInputError(f"--out {out}: directory {out.parent} does not exist")
    if out is not None and out.is_dir():
        raise BadInputError(f"--out {out} is a directory", hint="give the report's file name")
    _check_inventory(inventory, limit, vault)
    _run(inventory, playbook, limit, tags, runs_dir, vault, as_json, out)


def _check_inventory(inventory: Path, limit: str | None, vault: Any) -> None:
    """The inventory must load as provision's preflight loads it; the other checks are left out: they
    judge what a run would deploy, which is what this run shows."""
    from airgapctl.provision.preflight import check_inventory

    problems = check_inventory(inventory, limit=limit, vault_password_file=vault.password_file, vault_ids=vault.ids)
    for problem in problems:
        progress(f"{problem.where}: {problem.what} ({problem.fix})")
    if problems:
        raise BadInputError(
            f"drift: {len(problems)} problem(s) with the inventory, nothing was run",
            hint="fix each line above, then run again",
        )


def _run(
    inventory: Path, playbook: Path, limit: str | None, tags: str | None, runs_dir: Path | None, vault: Any,
    as_json: bool, out: Path | None,
) -> None:  # fmt: skip
    from airgapctl.events import emit_or_warn
    from airgapctl.provision import drift, runner
    from airgapctl.provision.record import default_runs_dir

    report = drift.check(
        inventory.resolve(), playbook.resolve(), runs_dir or default_runs_dir(), vault, limit=limit,
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
    )  # fmt: skip
    if out is not None:
        drift.write_report(report, out)
    emit_or_warn(
        EVENT,
        {
            "run_id": report.run_id, "outcome": report.outcome, "drift": report.drift, "hosts": len(report.hosts),
            "changes": report.changes(), "not_checked": report.not_checked(),
            "failed": len(report.failed_hosts), "unreachable": len(report.unreachable_hosts),
        },
    )  # fmt: skip
    complete = report.outcome == runner.OUTCOME_OK
    if as_json:
        print_json(report, status="error" if not complete else "failed" if report.drift else "ok")
    else:
        _print_report(report)
    progress(f"drift: run {report.run_id} recorded in {report.directory}")
    if out is not None:
        progress(f"drift: report written to {out}")
    if not complete:
        raise _incomplete(report)
    if report.drift:
        changed = sum(1 for h in report.hosts.values() if h.changes)
        raise DriftFoundError(
            f"drift: {report.changes()} task(s) would change on {changed} host(s)",
            hint="the diffs are above" if not as_json else "the diffs are in the document's data.hosts",
        )


def _print_report(report: Any) -> None:
    rows = [
        {"host": name, "would change": len(host.changes), "not checked": len(host.not_checked)}
        for name, host in report.hosts.items()
    ]
    print_table(rows, TABLE)
    for name, host in report.hosts.items():
        for change in host.changes:
            print(f"\n{name}: would change: {change['task']} ({change['action']})")
            diff = change["diff"] or "(no diff: the module gives none)\n"
            print("".join(f"{INDENT}{line}" for line in diff.splitlines(keepends=True)), end="")
    shown = [(name, item) for name, host in report.hosts.items() for item in host.not_checked]
    if shown:
        print()
    for name, item in shown:
        print(f"{name}: not checked: {item['task']} ({item['action']}): {item['reason']}")
    for note in report.notes:
        print(f"note: {note}")
    hosts = sum(1 for h in report.hosts.values() if h.changes)
    print(
        f"\n{report.changes()} task(s) would change on {hosts} of {len(report.hosts)} host(s), "
        f"{report.not_checked()} not checked"
    )


def _incomplete(report: Any) -> ProvisionFailedError:
    if report.failed_hosts or report.unreachable_hosts:
        named = [f"failed: {', '.join(report.failed_hosts)}"] if report.failed_hosts else []
        named += [f"unreachable: {', '.join(report.unreachable_hosts)}"] if report.unreachable_hosts else []
        return ProvisionFailedError(
            f"drift check incomplete: {'; '.join(named)}",
            hint="the tasks after a failure were not checked; the failing tasks are listed as not checked",
        )
    why = f": {report.ansible_errors[0]}" if report.ansible_errors else ""
    return ProvisionFailedError(
        f"drift check incomplete: ansible-playbook stopped before any host failed{why}",
        hint=f"Ansible's error lines are above and in {report.directory}/summary.json",
    )
