"""``airgapctl provision``: run the site playbook against an inventory through ansible-runner, with
progress on stderr and a record of the run (airgapctl.provision)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from airgapctl.errors import BadInputError, EnvironmentProblem, ProvisionFailedError
from airgapctl.output import print_json, print_table, progress
from airgapctl.provision.options import INVENTORY_OPT, RUNS_DIR_OPT, VAULT_FILE_OPT, VAULT_ID_OPT

EVENT = "provision.run"
PREFLIGHT = "airgapctl.provision.preflight"  # imported when used: written apart from the runner
TABLE = ["host", "ok", "changed", "failed", "unreachable", "skipped", "rescued"]

PLAYBOOK_OPT = typer.Option(
    None, "--playbook", metavar="PATH", help="The playbook to run. [default: the toolkit's playbooks/site.yml]",
    show_default=False,
)  # fmt: skip
LIMIT_OPT = typer.Option(None, "--limit", metavar="PATTERN", help="Only the hosts matching PATTERN (as Ansible's).")
TAGS_OPT = typer.Option(None, "--tags", metavar="T1,T2", help="Only the tasks with these tags.")
CHECK_OPT = typer.Option(False, "--check", help="Change nothing: report what would change (Ansible's check mode).")
DIFF_OPT = typer.Option(False, "--diff", help="Ansible's diff mode (the diffs are task results: never shown).")
SERIAL_OPT = typer.Option(
    None, "--serial", min=1, metavar="N", help="Provision N hosts at a time; a failing host stops the roll-out."
)
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document (the run's summary) instead of the table.")
PREFLIGHT_ONLY_OPT = typer.Option(False, "--preflight-only", help="Run the preflight checks only, change nothing.")


def register(root: typer.Typer) -> None:
    root.command(name="provision")(provision)


def provision(
    inventory: Path = INVENTORY_OPT,
    playbook: Path | None = PLAYBOOK_OPT,
    limit: str | None = LIMIT_OPT,
    tags: str | None = TAGS_OPT,
    check: bool = CHECK_OPT,
    diff: bool = DIFF_OPT,
    serial: int | None = SERIAL_OPT,
    as_json: bool = JSON_OPT,
    runs_dir: Path | None = RUNS_DIR_OPT,
    preflight_only: bool = PREFLIGHT_ONLY_OPT,
    vault_password_file: Path | None = VAULT_FILE_OPT,
    vault_id: list[str] | None = VAULT_ID_OPT,
) -> None:
    """Provision gateway appliances: run the site playbook against INVENTORY, after the preflight checks.

    Progress (plays, tasks, each host's result and counts; never a task's result) goes to stderr,
    a table per host to stdout. Each run is recorded in its own directory under --runs-dir:
    summary.json and events.jsonl. Exit 2 when the preflight finds problems (nothing is run),
    4 when a host failed or was unreachable (they are named) or ansible-playbook stopped early.
    """
    from airgapctl.provision.ansible_env import Vault, default_playbook

    vault = Vault.resolve(vault_password_file, vault_id or [])
    playbook = playbook or default_playbook()
    for what, path in (("inventory", inventory), ("playbook", playbook), ("vault password file", vault.password_file)):
        if path is not None and not path.exists():
            raise BadInputError(f"{what} {path} does not exist")
    from airgapctl.provision.record import deployed_bundles_dir

    deployed, verified = deployed_bundles_dir(runs_dir), []
    problems = _preflight(inventory, limit, vault, deployed, verified)
    if preflight_only:
        _report_preflight(inventory, problems, as_json)
        return
    if problems:
        _fail_preflight(problems)
    progress("provision: preflight passed (bundle, inventory and variables, policy, vault, TLS files, reach)")
    _run(inventory, playbook, limit, tags, check, diff, serial, runs_dir, vault, as_json)
    # Not with --tags: the run may have skipped the bundle's roles.
    if not check and not tags and verified:
        import datetime as dt

        from airgapctl.provision.artifacts import record_deployed

        # Only a run that succeeded: a failed roll-out may still be finished with the same bundle.
        record_deployed(verified, deployed, dt.datetime.now(dt.UTC))


def _preflight(inventory: Path, limit: str | None, vault: Any, deployed: Path, verified: list) -> list[dict[str, str]]:
    from importlib import import_module

    try:
        preflight = import_module(PREFLIGHT)
    except ModuleNotFoundError as error:
        if error.name != PREFLIGHT:
            raise
        raise EnvironmentProblem(
            "the preflight checks (airgapctl.provision.preflight) are missing from this installation",
            hint="reinstall airgapctl",
        ) from None
    found = preflight.check(
        inventory, limit=limit, vault_password_file=vault.password_file, vault_ids=list(vault.ids), reach=True,
        accepted_dir=deployed, verified=verified,
    )  # fmt: skip
    return [{"where": str(p.where), "what": str(p.what), "fix": str(p.fix)} for p in found]


def _problem_line(problem: dict[str, str]) -> str:
    return f"{problem['where']}: {problem['what']} ({problem['fix']})"


def _fail_preflight(problems: list[dict[str, str]]) -> None:
    for problem in problems:
        progress(_problem_line(problem))
    raise BadInputError(
        f"preflight: {len(problems)} problem(s), nothing was run", hint="fix each line above, then run again"
    )


def _report_preflight(inventory: Path, problems: list[dict[str, str]], as_json: bool) -> None:
    if as_json:
        print_json({"inventory": inventory, "problems": problems}, status="error" if problems else "ok")
    elif not problems:
        print(f"preflight: no problems found for {inventory}")
    if problems:
        _fail_preflight(problems)


def _run(
    inventory: Path, playbook: Path, limit: str | None, tags: str | None, check: bool, diff: bool,
    serial: int | None, runs_dir: Path | None, vault: Any, as_json: bool,
) -> None:  # fmt: skip
    from airgapctl.events import emit_or_warn
    from airgapctl.provision import runner
    from airgapctl.provision.record import default_runs_dir

    request = runner.Request(
        inventory=inventory.resolve(), playbook=playbook.resolve(), runs_dir=runs_dir or default_runs_dir(),
        vault=vault, limit=limit, tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        check=check, diff=diff, serial=serial,
    )  # fmt: skip
    summary = runner.run(request)
    counts = summary.counts()
    emit_or_warn(
        EVENT,
        {
            "run_id": summary.run_id, "outcome": summary.outcome, "check": check, "hosts": len(summary.hosts),
            "ok": counts["ok"], "changed": counts["changed"], "failed": len(summary.failed_hosts),
            "unreachable": len(summary.unreachable_hosts),
        },
    )  # fmt: skip
    if as_json:
        print_json(summary, status="ok" if summary.outcome == runner.OUTCOME_OK else "error")
    else:
        print_table([{"host": host, **stats} for host, stats in sorted(summary.hosts.items())], TABLE)
        progress(f"provision: run {summary.run_id} recorded in {summary.directory}")
    if summary.outcome == runner.OUTCOME_FAILED:
        named = [f"failed: {', '.join(summary.failed_hosts)}"] if summary.failed_hosts else []
        named += [f"unreachable: {', '.join(summary.unreachable_hosts)}"] if summary.unreachable_hosts else []
        # The last failure is the one that stopped its host: a rescued one (a failed self-test
        # before its roll-back) comes before it.
        last = summary.failures[-1] if summary.failures else None
        named += [f"{last['host']}: {last['task']}: {last['message']}"] if last else []
        raise ProvisionFailedError(
            f"provision stopped: {'; '.join(named)}",
            hint=f"the failing tasks are named above and in {summary.directory}/events.jsonl",
        )
    if summary.outcome != runner.OUTCOME_OK:
        why = f": {summary.ansible_errors[0]}" if summary.ansible_errors else ""
        raise ProvisionFailedError(
            f"ansible-playbook ended {summary.runner['status']} (exit {summary.runner['rc']}) "
            f"before any host failed{why}",
            hint=f"Ansible's error lines are above and in {summary.directory}/summary.json",
        )
