"""``airgapctl ca``: the site's offline CA for the gateway's mutual TLS (library: airgapctl.ca)."""

from __future__ import annotations

from pathlib import Path

import typer

from airgapctl import ca as lib
from airgapctl.ca.authority import DEFAULT_CA_DAYS, check_request
from airgapctl.ca.crl import DEFAULT_CRL_DAYS, REASONS, raise_for
from airgapctl.ca.issue import DEFAULT_DAYS, policy_subject
from airgapctl.errors import BadInputError
from airgapctl.output import print_json, print_table

HELP = "Run the site's offline CA: gateway and client certificates, revocation, and the CRL the gateway checks."

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
issue_app = typer.Typer(
    help="Issue a gateway (server) or client certificate, written as OUTDIR/NAME.crt and OUTDIR/NAME.key.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(issue_app, name="issue")

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
DIR_OPT = typer.Option(
    ..., "--dir", envvar="AIRGAPCTL_CA_DIR", show_envvar=True, help="The CA directory ('ca init' creates it)."
)
PASSPHRASE_OPT = typer.Option(
    None,
    "--passphrase-file",
    metavar="FILE",
    help=f"File holding the CA key's passphrase on one line (mode 0600). [default: ${lib.ENV_VAR}, "
    "else asked, unechoed, on a terminal; never asked without one]",
    show_default=False,
)
NAME_OPT = typer.Option(..., "--name", help='The CA\'s common name, e.g. "Clinic East Offline CA".')
ORG_OPT = typer.Option(
    None, "--org", help="The CA's organization (O); client subjects get it by default, e.g. CN=kiosk-1,O=Lab."
)
ALGORITHM_OPT = typer.Option("p256", "--algorithm", metavar="p256|ed25519", help="Key algorithm of the CA.")
CA_DAYS_OPT = typer.Option(DEFAULT_CA_DAYS, "--days", min=1, help="Days the CA certificate is valid.")
CRL_DAYS_OPT = typer.Option(
    DEFAULT_CRL_DAYS, "--crl-days", min=1, help="Days the CRL written alongside is valid (its next update)."
)
LEAF_NAME_ARG = typer.Argument(
    ..., help="The certificate's name, as access.yml names the client (lower case): the file names NAME.crt/.key."
)
SAN_OPT = typer.Option(
    ...,
    "--san",
    metavar="NAME|ADDRESS",
    help="A DNS name or IP address clients reach the gateway by (DNS:/IP: prefixes optional); repeat for more.",
)
OUT_OPT = typer.Option(
    ...,
    "--out",
    metavar="OUTDIR",
    help="Directory for NAME.crt and NAME.key (unencrypted, mode 0600), and ca.crt, the CA certificate, "
    "if not there yet; existing files are never overwritten.",
)
LEAF_DAYS_OPT = typer.Option(DEFAULT_DAYS, "--days", min=1, help="Days the certificate is valid.")
LEAF_ALGORITHM_OPT = typer.Option(
    None,
    "--algorithm",
    metavar="p256|ed25519",
    help="Key algorithm of the new key. [default: the CA's]",
    show_default=False,
)
SUBJECT_OPT = typer.Option(
    None,
    "--subject",
    metavar="DN",
    help='The subject as access.yml\'s clients[].subject writes it: "CN=NAME,OU=...,O=...". '
    "[default: CN=NAME plus the CA's O]",
    show_default=False,
)
POLICY_OPT = typer.Option(
    None,
    "--policy",
    help="Compiled policy (policy.json): take the subject it gives client NAME, instead of --subject.",
)
WHICH_ARG = typer.Argument(..., metavar="NAME|SERIAL", help="The name of a certificate not yet revoked, or a serial.")
REASON_OPT = typer.Option("unspecified", "--reason", metavar="REASON", help=f"Why it is revoked: {', '.join(REASONS)}.")
CRL_OUT_OPT = typer.Option(
    None, "--out", help="Also write the CRL here, for the appliance. [default: DIR/crl.pem only]"
)
CRL_FILE_ARG = typer.Argument(..., help="The CRL the gateway uses (PEM or DER).")
CA_CERT_OPT = typer.Option(..., "--ca-cert", help="The CA certificate the CRL must be signed by (PEM or DER).")
MIN_VALID_OPT = typer.Option(
    7.0, "--min-valid", min=0, metavar="DAYS", help="Fail when the CRL runs out within DAYS days."
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ca")


@app.callback()
def ca() -> None:
    """Run the site's offline CA: gateway and client certificates, revocation, and the CRL the gateway checks."""


@issue_app.callback()
def issue() -> None:
    """Issue a gateway (server) or client certificate, written as OUTDIR/NAME.crt and OUTDIR/NAME.key."""


@app.command()
def init(
    directory: Path = DIR_OPT,
    name: str = NAME_OPT,
    org: str | None = ORG_OPT,
    algorithm: str = ALGORITHM_OPT,
    days: int = CA_DAYS_OPT,
    crl_days: int = CRL_DAYS_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Create a CA in a new or empty DIR: certificate, encrypted key, index, first CRL. Never overwrites a CA."""
    settings = {"organization": org, "algorithm": algorithm, "days": days, "crl_days": crl_days}
    check_request(directory, name, **settings)  # before asking for a passphrase that would be for nothing
    passphrase = lib.read_passphrase(passphrase_file, confirm=True)
    created = lib.init_ca(directory, name, passphrase, **settings)
    if as_json:
        print_json(created)
        return
    print(f"CA {created.subject} ({created.algorithm}) in {created.directory}, valid until {created.not_after}")
    print(f"  certificate: {created.certificate} (sha256 {created.sha256})")
    print(f"  key: {created.key} (encrypted with the passphrase; keep the passphrase apart from it)")
    print(f"  CRL: {created.crl} number {created.crl_number}, next update {created.crl_next_update}")


def _print_issued(issued: lib.Issued) -> None:
    record = issued.certificate
    print(f"issued {record.kind} {record.name}: serial {record.serial}, valid until {record.not_after}")
    print(f"  subject: {record.subject}" + (f"; SANs: {', '.join(record.sans)}" if record.sans else ""))
    print(f"  certificate: {issued.cert}\n  key: {issued.key} ({issued.algorithm}, unencrypted, mode 0600)")
    print(f"  CA certificate: {issued.ca_cert}")


@issue_app.command("server")
def issue_server(
    name: str = LEAF_NAME_ARG,
    san: list[str] = SAN_OPT,
    out: Path = OUT_OPT,
    days: int = LEAF_DAYS_OPT,
    algorithm: str | None = LEAF_ALGORITHM_OPT,
    directory: Path = DIR_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """The gateway's TLS certificate (serverAuth) for its names and addresses (gateway render --server-cert/-key)."""
    store = lib.open_ca(directory)
    passphrase = lib.read_passphrase(passphrase_file)
    issued = lib.issue_server(store, passphrase, name, san, out, days=days, algorithm=algorithm)
    if as_json:
        print_json(issued)
        return
    _print_issued(issued)


@issue_app.command("client")
def issue_client(
    name: str = LEAF_NAME_ARG,
    out: Path = OUT_OPT,
    subject: str | None = SUBJECT_OPT,
    policy: Path | None = POLICY_OPT,
    days: int = LEAF_DAYS_OPT,
    algorithm: str | None = LEAF_ALGORITHM_OPT,
    directory: Path = DIR_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """A client's certificate (clientAuth) whose subject is the one access.yml gives the client NAME."""
    if subject is not None and policy is not None:
        raise BadInputError("give --subject or --policy, not both", hint="--policy takes the policy's own subject")
    store = lib.open_ca(directory)
    if policy is not None:
        subject = policy_subject(policy, name)
    passphrase = lib.read_passphrase(passphrase_file)
    issued = lib.issue_client(store, passphrase, name, out, subject=subject, days=days, algorithm=algorithm)
    if as_json:
        print_json(issued)
        return
    _print_issued(issued)


@app.command()
def revoke(
    which: str = WHICH_ARG,
    reason: str = REASON_OPT,
    crl_days: int = CRL_DAYS_OPT,
    directory: Path = DIR_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Revoke a certificate and write a fresh DIR/crl.pem listing it; deploy that CRL to the gateway."""
    store = lib.open_ca(directory)
    passphrase = lib.read_passphrase(passphrase_file)
    revoked = lib.revoke(store, passphrase, which, reason=reason, crl_days=crl_days)
    if as_json:
        print_json(revoked)
        return
    record, crl = revoked.certificate, revoked.crl
    print(f"revoked {record.kind} {record.name}: serial {record.serial} ({record.reason})")
    print(f"  CRL: {crl.crl} number {crl.number}, {crl.revoked} revoked, next update {crl.next_update}")
    print("  deploy the CRL to the gateway: it refuses the certificate only from then on")


@app.command()
def crl(
    days: int = typer.Option(DEFAULT_CRL_DAYS, "--days", min=1, help="Days until the CRL's next update."),
    out: Path | None = CRL_OUT_OPT,
    directory: Path = DIR_OPT,
    passphrase_file: Path | None = PASSPHRASE_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Issue a fresh CRL with a new next update (DIR/crl.pem, and --out); run it well before the current one ends."""
    store = lib.open_ca(directory)
    passphrase = lib.read_passphrase(passphrase_file)
    issued = lib.refresh_crl(store, passphrase, days=days, copy_to=out)
    if as_json:
        print_json(issued)
        return
    print(f"CRL {issued.crl} number {issued.number}: {issued.revoked} revoked, next update {issued.next_update}")
    if issued.copy:
        print(f"  copy: {issued.copy}")


@app.command("list")
def list_(directory: Path = DIR_OPT, as_json: bool = JSON_OPT) -> None:
    """Every certificate the CA issued: serial, kind, name, subject, expiry and status (no passphrase needed)."""
    listed = lib.list_certificates(lib.open_ca(directory))
    if as_json:
        print_json(listed)
        return
    print(f"CA {listed.ca_subject} in {listed.directory}, valid until {listed.ca_not_after}")
    rows = [
        {"serial": r.serial, "kind": r.kind, "name": r.name, "subject": r.subject, "expires": r.not_after,
         "status": listed.state(r)}
        for r in listed.certificates
    ]  # fmt: skip
    if rows:
        print_table(rows, ["serial", "kind", "name", "subject", "expires", "status"])
    else:
        print("  no certificates issued yet")


@app.command("check-crl")
def check_crl(
    crl_file: Path = CRL_FILE_ARG,
    ca_cert: Path = CA_CERT_OPT,
    min_valid: float = MIN_VALID_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Check a CRL before the gateway uses it: signed by the CA, current, not running out within --min-valid days.

    Needs no CA directory and no passphrase: the appliance runs it.
    """
    check = lib.check_crl(crl_file, ca_cert, min_valid_days=min_valid)
    if as_json:
        print_json(check, status="ok" if check.ok else "failed")
    elif check.ok:
        print(f"CRL {check.crl}: signed by {check.issuer}, number {check.number}, {check.revoked} revoked,"
              f" next update {check.next_update} (in {check.days_left:g} days)")  # fmt: skip
    raise_for(check)
