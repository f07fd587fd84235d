"""The command-line options of every command that runs the site's Ansible (provision, drift, audit run
--fleet), defined once. Here rather than in airgapctl.cli so that a command group imports no other
group's module to share them."""

from __future__ import annotations

import typer

INVENTORY_OPT = typer.Option(..., "-i", "--inventory", metavar="INVENTORY", help="The site's Ansible inventory.")
# audit run's: required with --fleet only.
FLEET_INVENTORY_OPT = typer.Option(
    None, "-i", "--inventory", metavar="INVENTORY", show_default=False,
    help="With --fleet: the site's Ansible inventory.",
)  # fmt: skip
RUNS_DIR_OPT = typer.Option(
    None, "--runs-dir", metavar="DIR", show_default=False,
    help="Where each Ansible run's record is written. [default: /var/lib/airgap/runs as root, "
    "else $XDG_STATE_HOME/airgapctl/runs or ~/.local/state/airgapctl/runs]",
)  # fmt: skip
VAULT_FILE_OPT = typer.Option(
    None, "--vault-password-file", metavar="FILE", show_default=False,
    help="The vault password file. [default: ANSIBLE_VAULT_PASSWORD_FILE]",
)  # fmt: skip
VAULT_ID_OPT = typer.Option(
    None, "--vault-id", metavar="LABEL@FILE", show_default=False,
    help="A vault identity and its password file; repeatable. [default: ANSIBLE_VAULT_IDENTITY_LIST]",
)  # fmt: skip
