"""``airgapctl bundle``: the signed offline artifact bundle (library: airgapctl.bundle)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from airgapctl import bundle as lib
from airgapctl.bundle.ledger import DEFAULT_LEDGER_PATH
from airgapctl.errors import BundleRejectedError
from airgapctl.output import print_json, print_table, progress
from airgapctl.progress import TerminalReporter, format_size

HELP = "Build, sign, verify, split and import the offline artifact bundle that crosses the gap."
DEFAULT_STATE_DIR = Path("/var/lib/airgap")

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
ledger_app = typer.Typer(
    help="Check the import ledger of verification attempts.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(ledger_app, name="ledger")

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
BUNDLE_ARG = typer.Argument(..., help="Bundle directory (holding manifest.json and manifest.json.sig).")
PUBKEY_OPT = typer.Option(..., "--pubkey", help="The site's bundle public key (PEM), trusted out of band.")
KEY_OPT = typer.Option(..., "--key", help="Bundle signing private key (PEM, mode 0600).")
PRIVATE_OPT = typer.Option(..., "--private", help="Where to write the private key (PEM PKCS#8, mode 0600).")
PUBLIC_OPT = typer.Option(..., "--public", help="Where to write the public key (PEM) to carry to sites.")
SEAL_DIR_ARG = typer.Argument(..., help="Directory of bundle files to hash and sign.")
NAME_OPT = typer.Option(..., "--name", help="Bundle name; sequences increase per name.")
VERSION_OPT = typer.Option(..., "--version", help="Version label of this bundle's content.")
SEQUENCE_OPT = typer.Option(..., "--sequence", min=1, help="Sequence number, higher than any sealed before.")
EXPIRES_OPT = typer.Option(
    None, "--expires", help="ISO 8601 time (UTC unless a zone is given) after which sites refuse it."
)
SBOM_OPT = typer.Option(None, "--sbom", help="Path of the CycloneDX SBOM inside the bundle.")
STATE_OPT = typer.Option(DEFAULT_STATE_DIR, "--state", help="Directory of accepted.json (last accepted sequences).")
LEDGER_OPT = typer.Option(DEFAULT_LEDGER_PATH, "--ledger", help="Import ledger to append this attempt to.")
DOWNGRADE_OPT = typer.Option(
    False, "--allow-downgrade", help="Accept a sequence not above the last accepted one (recorded as such)."
)
CHECK_ONLY_OPT = typer.Option(
    False, "--check-only", help="Check signature, files and expiry only: no sequence check, nothing recorded."
)
REQUIRE_ATTESTATION_OPT = typer.Option(
    False,
    "--require-attestation",
    help="Refuse media without a passing test record for exactly its roles and playbooks.",
)
EXPECT_NAME_OPT = typer.Option(
    None, "--expect-name", metavar="NAME", help="Refuse a bundle of any other name (exit 23)."
)
PART_SIZE_OPT = typer.Option(
    ..., "--part-size", help="Part size: 700M, 4000M, 4G (K/M/G/T = 1024^n; KB/MB/GB/TB = 1000^n)."
)
SPLIT_OUT_OPT = typer.Option(..., "--out", help="New or empty directory for part0001/, part0002/, ...")
PART_ARG = typer.Argument(..., help="A part file, or the directory (medium) holding it and parts.json.")
PARTS_ARG = typer.Argument(..., help="Every part (files or their directories), in any order.")
JOIN_OUT_OPT = typer.Option(..., "--out", help="New or empty directory for the joined bundle.")
PACK_OUT_OPT = typer.Option(..., "--out", help="Archive to write: .tar, or .tar.gz/.tgz for gzip.")
ARCHIVE_ARG = typer.Argument(..., help="Bundle archive (.tar or .tar.gz).")
UNPACK_OUT_OPT = typer.Option(..., "--out", help="New or empty directory to unpack into.")
LEDGER_ARG = typer.Argument(DEFAULT_LEDGER_PATH, help="The ledger file.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bundle")


@app.callback()
def bundle() -> None:
    """Build, sign, verify, split and import the offline artifact bundle that crosses the gap."""


def _terminal_bars(as_json: bool) -> TerminalReporter:
    """Hashing bars on stderr, only on a terminal and never with --json (the result lines say the rest)."""
    return TerminalReporter(sys.stderr, bars=not as_json, piped_lines=False)


@app.command()
def keygen(private: Path = PRIVATE_OPT, public: Path = PUBLIC_OPT, as_json: bool = JSON_OPT) -> None:
    """Create an Ed25519 signing key pair; existing files are never overwritten."""
    pair = lib.generate_keypair(private, public)
    if as_json:
        print_json(pair)
        return
    print(f"key {pair.key_id}")
    print(f"  private: {pair.private_path} (keep it on the connected side)\n  public: {pair.public_path}")


@app.command()
def seal(
    directory: Path = SEAL_DIR_ARG,
    name: str = NAME_OPT,
    version: str = VERSION_OPT,
    sequence: int = SEQUENCE_OPT,
    key: Path = KEY_OPT,
    expires: str | None = EXPIRES_OPT,
    sbom: str | None = SBOM_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Hash every file, write manifest.json and its signature (kinds guessed from paths)."""
    options = {"expires": expires, "sbom": sbom, "progress": _terminal_bars(as_json)}
    manifest = lib.seal_bundle(directory, name, version, sequence, key, lib.guess_kind, **options)
    if as_json:
        print_json(manifest)
        return
    files = f"{len(manifest.files)} files, {format_size(manifest.total_size)}"
    print(
        f"sealed {manifest.name} {manifest.version} sequence {manifest.sequence}: {files}, key {manifest.key_id[:16]}"
    )


@app.command()
def inspect(directory: Path = BUNDLE_ARG, as_json: bool = JSON_OPT) -> None:
    """Show what manifest.json claims, WITHOUT checking it (verify does that)."""
    summary = lib.inspect_bundle(directory)
    if as_json:
        print_json(summary)
        return
    print(f"bundle {summary.name} {summary.version} sequence {summary.sequence} (NOT verified)")
    print(f"  created {summary.created}, expires {summary.expires or 'never'}, key {summary.key_id[:16]}")
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary.files_by_kind.items())
    print(f"  files: {summary.files} ({format_size(summary.total_bytes)}): {kinds or 'none'}")
    print(f"  sbom: {summary.sbom or 'none'}; attestation: {'yes' if summary.has_attestation else 'no'}")
    print(f"  signature: {'present' if summary.signature_present else 'MISSING'}")


@app.command()
def verify(
    directory: Path = BUNDLE_ARG,
    pubkey: Path = PUBKEY_OPT,
    state: Path = STATE_OPT,
    ledger: Path = LEDGER_OPT,
    allow_downgrade: bool = DOWNGRADE_OPT,
    check_only: bool = CHECK_ONLY_OPT,
    require_attestation: bool = REQUIRE_ATTESTATION_OPT,
    expect_name: str | None = EXPECT_NAME_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Verify a bundle, failing closed; record it as accepted only if every check passes.

    Accepted or rejected, the outcome is also emitted as an airgap.bundle.verify event (docs/events.md).
    """
    from airgapctl.bundle import verify_event
    from airgapctl.events import emit_or_warn

    try:
        result = lib.verify_bundle(
            directory,
            pubkey,
            state_dir=None if check_only else state,
            allow_downgrade=allow_downgrade,
            ledger_path=None if check_only else ledger,
            require_attestation=require_attestation,
            expected_name=expect_name,
            progress=_terminal_bars(as_json),
        )
    except BundleRejectedError as error:
        emit_or_warn(verify_event.TAG, verify_event.rejected_fields(directory, error, check_only))
        raise
    emit_or_warn(verify_event.TAG, verify_event.accepted_fields(result, check_only))
    for warning in result.warnings:
        progress(f"warning: {warning}")
    if as_json:
        print_json(result)
        return
    print(f"bundle {result.name} {result.version} sequence {result.sequence}: accepted")
    size = format_size(result.total_bytes)
    print(f"  files: {result.files} ({size}) in {result.seconds:.2f} s; key {result.key_id[:16]}")
    previous = "none" if result.previous_sequence is None else result.previous_sequence
    print(f"  sequence: {'checked' if result.sequence_checked else 'NOT checked'}, previous accepted {previous}")
    print(f"  ledger: {result.ledger or 'not recorded'}")


@app.command()
def split(
    directory: Path = BUNDLE_ARG,
    part_size: str = PART_SIZE_OPT,
    out: Path = SPLIT_OUT_OPT,
    key: Path = KEY_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Cut a verified bundle into parts, each with the signed part index beside it."""
    result = lib.split_bundle(directory, out, lib.parse_size(part_size), key)
    if as_json:
        print_json(result)
        return
    size = format_size(result.part_size)
    print(f"{result.bundle} sequence {result.sequence}: {len(result.parts)} parts of up to {size}")
    for part in result.parts:
        print(f"  {Path(result.out_dir, part)}")


@app.command("verify-part")
def verify_part(part: Path = PART_ARG, pubkey: Path = PUBKEY_OPT, as_json: bool = JSON_OPT) -> None:
    """Check one part alone against the signed part index beside it."""
    check = lib.verify_part(part, pubkey)
    if as_json:
        print_json(check)
        return
    print(f"part {check.number} of {check.count} of {check.bundle} sequence {check.sequence}: ok ({check.part})")


@app.command()
def join(
    parts: list[Path] = PARTS_ARG, out: Path = JOIN_OUT_OPT, pubkey: Path = PUBKEY_OPT, as_json: bool = JSON_OPT
) -> None:
    """Check every part and reassemble the bundle; then run 'bundle verify' on the output."""
    result = lib.join_parts(parts, out, pubkey)
    if as_json:
        print_json(result)
        return
    print(f"joined {result.parts} parts of {result.bundle} sequence {result.sequence} into {result.out_dir}")
    print(f"  next: airgapctl bundle verify {result.out_dir} --pubkey {pubkey}")


@app.command()
def pack(directory: Path = BUNDLE_ARG, out: Path = PACK_OUT_OPT, as_json: bool = JSON_OPT) -> None:
    """Pack a sealed bundle into one deterministic tar file."""
    result = lib.pack_bundle(directory, out)
    if as_json:
        print_json(result)
        return
    print(f"packed {result.files} files into {result.archive} ({format_size(result.bytes)})")


@app.command()
def unpack(archive: Path = ARCHIVE_ARG, out: Path = UNPACK_OUT_OPT, as_json: bool = JSON_OPT) -> None:
    """Unpack a bundle archive safely (links, devices, escapes and size bombs refused); verify comes next."""
    result = lib.unpack_bundle(archive, out)
    if as_json:
        print_json(result)
        return
    print(f"unpacked {result.files} files ({format_size(result.bytes)}) into {result.dest}; not verified yet")


@ledger_app.command("verify")
def ledger_verify(path: Path = LEDGER_ARG, as_json: bool = JSON_OPT) -> None:
    """Check the ledger's hash chain; name the first edited, removed or reordered line."""
    report = lib.verify_ledger(path)
    if as_json:
        print_json(report)
        return
    exported = f", {report.exported} exported" if report.exported else ""
    counts = f"{report.accepted} accepted, {report.rejected} rejected{exported}"
    print(f"ledger {report.path}: {report.entries} entries ({counts})")
    print("  chain intact" + (f"; {report.unconfirmed} entries after the head" if report.unconfirmed else ""))


BUNDLE_FILE_ARG = typer.Argument(
    ..., help="bundle.yml: what the bundle carries (format: docs/bundle-file.md; airgapctl/schemas/bundle.schema.json)."
)
BUILD_OUT_OPT = typer.Option(
    ..., "--out", help="New or empty directory for the bundle (staged beside it until sealed)."
)
CACHE_OPT = typer.Option(
    None, "--cache-dir", help="Download cache reused between builds [default: ~/.cache/airgapctl/bundle]."
)
BUILD_SEQUENCE_OPT = typer.Option(None, "--sequence", min=1, help="Use this sequence instead of bundle.yml's.")
ATTEST_OPT = typer.Option(
    None, "--attest", help="JSON record of the test run that preceded this build, signed into the manifest."
)
TOOLKIT_OPT = typer.Option(
    None, "--toolkit", help="Folder of roles, playbooks, inventory, ansible.cfg, constraints.txt to carry "
    "[default: bundle.yml's toolkit path, else the toolkit installed with airgapctl].",
)  # fmt: skip
WHEEL_OPT = typer.Option(
    None, "--airgapctl-wheel", help="airgapctl wheel to carry [default: bundle.yml's wheels.airgapctl path, "
    "else built from the checkout airgapctl runs from; an installed airgapctl needs this].",
)  # fmt: skip
BASELINE_OPT = typer.Option(
    None, "--baseline", help="The target's dpkg status file (its /var/lib/dpkg/status) "
    "[default: bundle.yml's target.baseline; 'lab' reads the lab image, with Docker].",
)  # fmt: skip
COLLECTIONS_PATH_OPT = typer.Option(
    None, "--collections-path", help="Where to find the collections, ':'-separated folders holding "
    "ansible_collections/ [default: this Python's site-packages].",
)  # fmt: skip


@app.command()
def build(
    bundle_file: Path = BUNDLE_FILE_ARG,
    out: Path = BUILD_OUT_OPT,
    key: Path = KEY_OPT,
    cache_dir: Path | None = CACHE_OPT,
    attest: Path | None = ATTEST_OPT,
    sequence: int | None = BUILD_SEQUENCE_OPT,
    toolkit: Path | None = TOOLKIT_OPT,
    airgapctl_wheel: Path | None = WHEEL_OPT,
    baseline: Path | None = BASELINE_OPT,
    collections_path: str | None = COLLECTIONS_PATH_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Collect debs, wheels, collections, specs, files and the toolkit named in bundle.yml, then seal them.

    Works from an installed airgapctl as from a checkout; the inputs are described in docs/bundle-file.md.
    """
    from airgapctl.bundle_build.assemble import build_bundle, read_attestation
    from airgapctl.bundle_build.inputs import BuildInputs

    attestation = read_attestation(attest) if attest else None
    paths = tuple(Path(p) for p in (collections_path or "").split(os.pathsep) if p)
    inputs = BuildInputs(toolkit, airgapctl_wheel, baseline, paths)
    # Phase lines always; bars on a terminal, or a start and a final line each in logs; none with --json.
    reporter = TerminalReporter(sys.stderr, bars=not as_json)
    options = {"cache_dir": cache_dir, "inputs": inputs, "attestation": attestation, "sequence": sequence}
    result = build_bundle(bundle_file, out, key, progress=reporter, **options)
    if as_json:
        print_json(result)
        return
    rows = [{"section": s.name, "items": s.items, "size": format_size(s.bytes), "seconds": f"{s.seconds:.1f}"}
            for s in result.sections]  # fmt: skip
    print_table(rows, ["section", "items", "size", "seconds"])
    print(f"bundle {result.name} {result.release} sequence {result.sequence}: {result.files} files, "
          f"{format_size(result.bytes)}, built in {result.seconds:.1f} s -> {result.out}")  # fmt: skip


JUNIT_OPT = typer.Option(
    ..., "--junit", help="JUnit XML of the test run (pytest --junitxml), Molecule scenarios included."
)
ATTEST_OUT_OPT = typer.Option(..., "--out", help="Where to write the attestation (JSON) for bundle build --attest.")


@app.command()
def attest(junit: Path = JUNIT_OPT, out: Path = ATTEST_OUT_OPT, as_json: bool = JSON_OPT) -> None:
    """Record the test run that must precede a media cut: commit, role and playbook digest, outcomes."""
    from airgapctl.bundle_build.attest import write_attestation

    record = write_attestation(junit, out)
    if as_json:
        print_json(record)
        return
    tests = record["tests"]
    print(f"attestation {out}: tests {'passed' if tests['passed'] else 'FAILED'} ({tests['summary']});"
          f" roles+playbooks {record['toolkit_sha256'][:12]}; commit {record['commit'][:12]}")  # fmt: skip
