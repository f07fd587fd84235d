"""``airgapctl vault``: the upstream credentials file of the inventory (library: airgapctl.vault).

Values come from standard input only (never the command line, where ps and shell history see
them); the password from a file or script as Ansible reads them, or AIRGAPCTL_VAULT_PASSWORD,
and from a prompt only on a terminal. Nothing prints a value.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer

from airgapctl.errors import BadInputError
from airgapctl.output import print_json, print_table
from airgapctl.vault import operations
from airgapctl.vault.passwords import PASSWORD_ENV, Password, read_password
from airgapctl.vault.sealing import DEFAULT_VAULT_ID, check_vault_id

HELP = "Keep the gateway's upstream credentials in an Ansible Vault file of the inventory."
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)

FILE_OPT = typer.Option(
    ...,
    "--file",
    "-f",
    help="The credentials file, e.g. inventory/SITE/group_vars/gateways/vault.yml.",
)
NAME_ARG = typer.Argument(..., help="Credential name, as access.yml's upstream credential names it.")
HEADER_OPT = typer.Option(
    None, "--header", help="Header the gateway sends the value in. [default: Authorization]", show_default=False
)
ROTATE_HEADER_OPT = typer.Option(
    None, "--header", help="A new header for the credential. [default: keep its header]", show_default=False
)
VAULT_ID_OPT = typer.Option(
    DEFAULT_VAULT_ID, "--vault-id", metavar="LABEL", help="Vault id label the values are sealed under."
)
PASSWORD_FILE_OPT = typer.Option(
    None,
    "--vault-password-file",
    help=f"File holding the vault password, or an executable printing it (as Ansible runs it). "
    f"[default: ${PASSWORD_ENV}, else a prompt on a terminal]",
    show_default=False,
)
NEW_PASSWORD_FILE_OPT = typer.Option(
    ..., "--new-vault-password-file", help="File holding the new vault password, or an executable printing it."
)
GENERATE_NEW_OPT = typer.Option(
    False, "--generate", help="Write a new random password to --new-vault-password-file first (mode 0600)."
)
GENERATE_PASSWORD_OPT = typer.Option(
    None,
    "--generate-password-file",
    help="Also write a new random vault password to this file (mode 0600; an existing file is refused).",
)
INIT_PASSWORD_FILE_OPT = typer.Option(
    None,
    "--vault-password-file",
    help="The vault password the file's values will be sealed with (file or executable), checked readable now.",
)
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
# More than any credential: the rest of a file piped in by mistake is not read.
_STDIN_LIMIT = 64 << 10


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="vault")


@app.callback()
def vault() -> None:
    """Keep the gateway's upstream credentials in an Ansible Vault file of the inventory."""


def _on_terminal() -> bool:
    return sys.stdin.isatty()


def _password(password_file: Path | None, vault_id: str) -> Password:
    prompt = (lambda: getpass.getpass(f"vault password ({vault_id}): ")) if _on_terminal() else None
    return read_password(password_file, check_vault_id(vault_id), prompt=prompt)


def _value(name: str) -> str:
    """The credential's value from standard input, without its final line break."""
    if _on_terminal():
        return getpass.getpass(f"value of credential {name} (not echoed): ")
    stream = getattr(sys.stdin, "buffer", None)
    data = stream.read(_STDIN_LIMIT + 1) if stream is not None else sys.stdin.read(_STDIN_LIMIT + 1).encode()
    if len(data) > _STDIN_LIMIT:
        raise BadInputError(
            f"credential {name}: more than {_STDIN_LIMIT} bytes on standard input", hint="pipe the value alone"
        )
    text = data.decode("utf-8", errors="surrogateescape")
    # `echo TOKEN |` and files end the line; the line break is not part of the value.
    text = text.removesuffix("\r\n") if text.endswith("\r\n") else text.removesuffix("\n")
    if not text:
        raise BadInputError(
            f"credential {name}: no value on standard input",
            hint=f"pipe it in, e.g. airgapctl vault set {name} --file F < token.txt",
        )
    return text


def _print_change(result: operations.Changed, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    if not result.changed:
        print(f"credential {result.name}: unchanged in {result.file}")
    elif result.action == "remove":
        print(f"credential {result.name}: removed from {result.file}; converge to delete its include file")
    else:
        done = "set" if result.action == "set" else "rotated"
        print(f"credential {result.name}: {done} in {result.file} (header {result.header}, vault id {result.vault_id})")


@app.command()
def init(
    file: Path = FILE_OPT,
    generate_password_file: Path | None = GENERATE_PASSWORD_OPT,
    vault_id: str = VAULT_ID_OPT,
    vault_password_file: Path | None = INIT_PASSWORD_FILE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Create an empty credentials file (mode 0600); an existing file is refused."""
    check_vault_id(vault_id)
    if generate_password_file is not None and vault_password_file is not None:
        raise BadInputError(
            "--generate-password-file and --vault-password-file both name the password",
            hint="give one: a new password file to write, or the existing one to use",
        )
    if vault_password_file is not None:
        # Read now, so that a password source that cannot be used fails here rather than at the first set.
        read_password(vault_password_file, vault_id, environ={})
    result = operations.init(file, generate_password_file)
    if as_json:
        print_json(result)
        return
    print(f"credentials file {result.file}: created, no credentials yet")
    if result.password_file is not None:
        print(f"vault password: {result.password_file} (mode 0600); keep it out of the inventory's repository")


@app.command("set")
def set_command(
    name: str = NAME_ARG,
    file: Path = FILE_OPT,
    header: str | None = HEADER_OPT,
    vault_id: str = VAULT_ID_OPT,
    vault_password_file: Path | None = PASSWORD_FILE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Add a credential, its value from standard input; the same value again changes nothing."""
    password = _password(vault_password_file, vault_id)
    value = _value(name)
    _print_change(operations.set_credential(file, name, value, password, vault_id, header), as_json)


@app.command()
def rotate(
    name: str = NAME_ARG,
    file: Path = FILE_OPT,
    header: str | None = ROTATE_HEADER_OPT,
    vault_id: str = VAULT_ID_OPT,
    vault_password_file: Path | None = PASSWORD_FILE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Replace a credential's value with one from standard input, and record when."""
    password = _password(vault_password_file, vault_id)
    value = _value(name)
    _print_change(operations.rotate_credential(file, name, value, password, vault_id, header), as_json)


@app.command()
def remove(name: str = NAME_ARG, file: Path = FILE_OPT, as_json: bool = JSON_OPT) -> None:
    """Remove a credential; the next converge deletes its include file from the appliance."""
    _print_change(operations.remove_credential(file, name), as_json)


@app.command("list")
def list_command(file: Path = FILE_OPT, as_json: bool = JSON_OPT) -> None:
    """List names, headers, vault ids and dates; no password needed, no value shown."""
    listed = operations.list_credentials(file)
    if as_json:
        print_json({"file": file, "credentials": listed})
        return
    if not listed:
        print(f"no credentials in {file}")
        return
    rows = [
        {
            "name": c.name,
            "header": c.header,
            "vault_id": c.vault_id or "-",
            "created": c.created,
            "rotated": c.rotated or "-",
        }
        for c in listed
    ]
    print_table(rows, ["name", "header", "vault_id", "created", "rotated"])


@app.command()
def rekey(
    file: Path = FILE_OPT,
    vault_id: str = VAULT_ID_OPT,
    vault_password_file: Path | None = PASSWORD_FILE_OPT,
    new_vault_password_file: Path = NEW_PASSWORD_FILE_OPT,
    generate: bool = GENERATE_NEW_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Seal every credential of the vault id again under a new password, all or none."""
    password = _password(vault_password_file, vault_id)
    new_password = None
    if not generate:
        if not new_vault_password_file.exists():
            raise BadInputError(
                f"--new-vault-password-file {new_vault_password_file}: no such file",
                hint="write the new password there first, or add --generate to have a random one written",
            )
        new_password = read_password(new_vault_password_file, vault_id, environ={}, option="--new-vault-password-file")
    result = operations.rekey(file, password, new_password, vault_id, new_vault_password_file if generate else None)
    if as_json:
        print_json(result)
        return
    print(f"{file}: {len(result.rekeyed)} credential(s) of vault id {vault_id} sealed under the new password")
    if result.kept:
        print(f"kept under their own vault ids: {', '.join(result.kept)}")
    if result.password_file is not None:
        print(f"new vault password: {result.password_file} (mode 0600)")
