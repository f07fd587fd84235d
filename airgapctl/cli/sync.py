"""``airgapctl sync``: signed data packages that leave the site (library: airgapctl.sync)."""

from __future__ import annotations

from pathlib import Path

import typer

from airgapctl.bundle.ledger import DEFAULT_LEDGER_PATH
from airgapctl.output import print_json, progress
from airgapctl.progress import format_size

HELP = "Export signed data packages from the site and import them on the other side of the gap."
# Apart from the bundles' accepted.json: a site's packages and a bundle may share a name.
DEFAULT_STATE_DIR = Path("/var/lib/airgap/packages")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
OUT_OPT = typer.Option(..., "--out", help="New or empty directory for the package (staged beside it until signed).")
KEY_OPT = typer.Option(..., "--key", help="The site's signing private key (PEM, mode 0600).")
SITE_OPT = typer.Option(..., "--site", help="The site's name: the package's name, its sequences increase per site.")
INCLUDE_OPT = typer.Option(
    None,
    "--include",
    metavar="NAME=PATH",
    help="A file or directory to send out, as NAME inside the package (repeatable).",
)
FROM_LIST_OPT = typer.Option(
    None, "--from-list", metavar="FILE", help="YAML list of {name, path} to send out (docs/sync.md)."
)
SEQUENCE_OPT = typer.Option(
    None, "--sequence", min=1, help="Sequence number. [default: the time, in seconds since 1970]", show_default=False
)
EXPIRES_OPT = typer.Option(
    None, "--expires", help="ISO 8601 time (UTC unless a zone is given) after which imports refuse it."
)
EXPORT_LEDGER_OPT = typer.Option(DEFAULT_LEDGER_PATH, "--ledger", help="Ledger to record the export in.")
PACKAGE_ARG = typer.Argument(..., help="Package directory (holding manifest.json and manifest.json.sig).")
PUBKEY_OPT = typer.Option(..., "--pubkey", help="The site's public key (PEM), trusted out of band.")
DEST_OPT = typer.Option(..., "--dest", help="New or empty directory for the verified files.")
IMPORT_LEDGER_OPT = typer.Option(DEFAULT_LEDGER_PATH, "--ledger", help="Import ledger to append this attempt to.")
STATE_OPT = typer.Option(
    DEFAULT_STATE_DIR, "--state", help="Directory of accepted.json (each site's last accepted package sequence)."
)
EXPECT_SITE_OPT = typer.Option(
    None, "--expect-site", metavar="NAME", help="Refuse a package of any other site (exit 23)."
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="sync")


@app.callback()
def sync() -> None:
    """Export signed data packages from the site and import them on the other side of the gap."""


@app.command("export")
def export(
    out: Path = OUT_OPT,
    key: Path = KEY_OPT,
    site: str = SITE_OPT,
    include: list[str] | None = INCLUDE_OPT,
    from_list: Path | None = FROM_LIST_OPT,
    sequence: int | None = SEQUENCE_OPT,
    expires: str | None = EXPIRES_OPT,
    ledger: Path = EXPORT_LEDGER_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Pack the declared files (never secrets) into a package signed with the site's key."""
    from airgapctl.sync.package import export_package
    from airgapctl.sync.sources import load_source_list, parse_include

    sources = [parse_include(text) for text in include or ()]
    if from_list is not None:
        sources += load_source_list(from_list)
    result = export_package(out, sources, key, site, sequence=sequence, expires=expires, ledger_path=ledger)
    if as_json:
        print_json(result)
        return
    print(f"package {result.site} {result.version} sequence {result.sequence}: exported to {result.out_dir}")
    print(f"  files: {len(result.files)} ({format_size(result.total_bytes)}); key {result.key_id[:16]}")
    print(f"  ledger: {result.ledger}")


@app.command("import")
def import_(
    directory: Path = PACKAGE_ARG,
    pubkey: Path = PUBKEY_OPT,
    dest: Path = DEST_OPT,
    ledger: Path = IMPORT_LEDGER_OPT,
    state: Path = STATE_OPT,
    expect_site: str | None = EXPECT_SITE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Verify a package as bundles are verified, failing closed; only then copy it to --dest."""
    from airgapctl.sync.package import import_package

    result = import_package(directory, pubkey, dest, ledger_path=ledger, state_dir=state, expected_site=expect_site)
    for warning in result.warnings:
        progress(f"warning: {warning}")
    if as_json:
        print_json(result)
        return
    print(f"package {result.site} {result.version} sequence {result.sequence}: accepted")
    print(f"  files: {result.files} ({format_size(result.total_bytes)}) in {result.dest}; key {result.key_id[:16]}")
    previous = "none" if result.previous_sequence is None else result.previous_sequence
    print(f"  sequence: checked, previous accepted {previous}")
    print(f"  ledger: {result.ledger}")
