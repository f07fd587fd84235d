"""``airgapctl gateway``: the NGINX gateway rendered from a compiled policy."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from airgapctl.errors import BadInputError
from airgapctl.gateway.nginx import restore_previous
from airgapctl.gateway.render import RenderOptions, RenderResult, render_gateway
from airgapctl.output import print_json

app = typer.Typer(
    help="Render the NGINX gateway configuration from a compiled policy and self-test it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DEFAULTS = RenderOptions()
POLICY_OPT = typer.Option(..., "--policy", help="Compiled policy (policy.json from 'airgapctl specs compile').")
OUT_OPT = typer.Option(
    ...,
    "--out",
    help="Prefix directory to write (run: nginx -p DIR -c nginx.conf); the replaced one stays as DIR.prev.",
)
LISTEN_OPT = typer.Option(
    DEFAULTS.listen, "--listen", metavar="[HOST:]PORT", help="Address and port the gateway listens on (TLS)."
)
SERVER_CERT_OPT = typer.Option(DEFAULTS.server_cert, "--server-cert", help="Gateway TLS certificate (PEM).")
SERVER_KEY_OPT = typer.Option(DEFAULTS.server_key, "--server-key", help="Private key of --server-cert (PEM).")
CLIENT_CA_OPT = typer.Option(DEFAULTS.client_ca, "--client-ca", help="CA certificate(s) that sign client certificates.")
CLIENT_CRL_OPT = typer.Option(
    None, "--client-crl", help="Revocation list(s) (PEM) of the client CA(s); revoked certificates are refused."
)
SERVER_NAME_OPT = typer.Option(
    list(DEFAULTS.server_names),
    "--server-name",
    help="A name clients reach the gateway by (Host and TLS server name); repeat for more. Any other is refused.",
)
ACCESS_LOG_OPT = typer.Option(None, "--access-log", help="JSON access log file. [default: DIR/logs/access.log]")
ACCESS_LOG_BUFFER_OPT = typer.Option(
    None,
    "--access-log-buffer",
    metavar="SIZE",
    help="Write the access log in batches of up to SIZE (e.g. 64k), within a second: less work per request,"
    " but a crash of NGINX loses the last second's lines. [default: each line as its request ends]",
)
ERROR_LOG_OPT = typer.Option(None, "--error-log", help="NGINX error log file. [default: DIR/logs/error.log]")
CREDENTIALS_OPT = typer.Option(
    DEFAULTS.credentials_dir, "--credentials-dir", help="Directory of the <credential>.conf files APIs include."
)
NOW_OPT = typer.Option(
    None,
    "--now",
    metavar="YYYY-MM-DD",
    help="Date (YYYY-MM-DD) that decides whether sunsets have passed. [default: today]",
)
PID_FILE_OPT = typer.Option(None, "--pid-file", help="NGINX pid file. [default: DIR/logs/nginx.pid]")
TEMP_DIR_OPT = typer.Option(
    None, "--temp-dir", help="Existing directory for NGINX's request-body and proxy buffers. [default: DIR/tmp]"
)
USER_OPT = typer.Option(
    None, "--user", metavar="USER [GROUP]", help="User (and group) the NGINX workers run as, when started as root."
)
WORKERS_OPT = typer.Option(
    DEFAULTS.worker_processes, "--worker-processes", metavar="N|auto", help="NGINX worker_processes: N or 'auto'."
)
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="gateway")


@app.callback()
def gateway() -> None:
    """Render the NGINX gateway configuration from a compiled policy and self-test it."""


def _absolute(path: Path) -> str:
    """Paths given on the command line are relative to the current directory, not to DIR."""
    return str(path.absolute())


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"--now {text!r} is not a date", hint="use YYYY-MM-DD, e.g. --now 2026-01-31") from None


@app.command()
def render(
    policy: Path = POLICY_OPT,
    out: Path = OUT_OPT,
    listen: str = LISTEN_OPT,
    server_cert: Path = SERVER_CERT_OPT,
    server_key: Path = SERVER_KEY_OPT,
    client_ca: Path = CLIENT_CA_OPT,
    client_crl: Path | None = CLIENT_CRL_OPT,
    server_name: list[str] = SERVER_NAME_OPT,
    access_log: Path | None = ACCESS_LOG_OPT,
    access_log_buffer: str | None = ACCESS_LOG_BUFFER_OPT,
    error_log: Path | None = ERROR_LOG_OPT,
    credentials_dir: Path = CREDENTIALS_OPT,
    now: str | None = NOW_OPT,
    worker_processes: str = WORKERS_OPT,
    pid_file: Path | None = PID_FILE_OPT,
    temp_dir: Path | None = TEMP_DIR_OPT,
    user: str | None = USER_OPT,
    check: bool = typer.Option(
        False, "--check", help="Only say whether DIR would change, with a diff of how; write and test nothing."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Render DIR from a policy, check it with 'nginx -t' and only then replace the previous DIR."""
    options = RenderOptions(
        listen=listen,
        server_cert=_absolute(server_cert),
        server_key=_absolute(server_key),
        client_ca=_absolute(client_ca),
        client_crl=_absolute(client_crl) if client_crl else None,
        server_names=tuple(server_name),
        access_log=_absolute(access_log) if access_log else DEFAULTS.access_log,
        access_log_buffer=access_log_buffer,
        error_log=_absolute(error_log) if error_log else DEFAULTS.error_log,
        credentials_dir=_absolute(credentials_dir),
        now=_day(now),
        worker_processes=worker_processes,
        pid_file=_absolute(pid_file) if pid_file else DEFAULTS.pid_file,
        temp_dir=_absolute(temp_dir) if temp_dir else DEFAULTS.temp_dir,
        user=user,
    )
    result = render_gateway(policy, out, options, check=check)
    if as_json:
        print_json(result)
        return
    if check:
        print(result.diff if result.changed else f"gateway configuration: {result.out_dir} (would not change)")
        return
    _print_summary(result)


def _print_summary(result: RenderResult) -> None:
    if not result.changed:
        print(f"gateway configuration: {result.out_dir} (unchanged: it already holds this rendering)")
        return
    print(f"gateway configuration: {result.out_dir}")
    if result.previous_dir:
        print(f"  previous configuration kept in {result.previous_dir}")
    print(f"  policy: {result.policy_id} (site {result.site}) from {result.policy}")
    print(
        f"  operations: {result.operations}; apis: {result.apis}; clients: {result.clients}; roles: {result.roles};"
        f" body classes: {result.body_classes}; rate-limit zones: {result.rate_zones}"
    )
    timing = f"({result.nginx_test_seconds:.2f} s); rendered in {result.render_seconds:.2f} s"
    print(f"  nginx -t: {result.nginx_test} {timing}")
    for warning in result.warnings:
        print(f"  nginx warning: {warning}")
    if result.next_sunset:
        print(f"  next sunset: {result.next_sunset} (render again on that day so the operation answers 410)")


ROLLBACK_OUT_OPT = typer.Option(..., "--out", help="The live prefix directory; DIR.prev must exist.")


@app.command()
def rollback(out: Path = ROLLBACK_OUT_OPT, as_json: bool = JSON_OPT) -> None:
    """Put DIR.prev back as DIR (DIR is kept as DIR.failed); reload NGINX afterwards."""
    out = out.absolute()
    failed = restore_previous(out)
    if as_json:
        print_json({"out_dir": str(out), "failed_dir": str(failed)})
        return
    print(f"gateway configuration: {out} is the previous configuration again; the replaced one is in {failed}")


URL_OPT = typer.Option(..., "--url", help="Gateway base URL to test, e.g. https://127.0.0.1:8443 (loopback).")
CERTS_OPT = typer.Option(..., "--certs", help="Directory with <client>.crt and <client>.key for the policy's clients.")
CA_OPT = typer.Option(..., "--ca", help="CA certificate that signed the gateway's server certificate.")
RECORD_OPT = typer.Option(
    None,
    "--record",
    metavar="FILE",
    help="Append each request sent (time, request id, client, method, path; one JSON line each) to FILE, so that"
    " 'airgapctl audit run --selftest-record FILE' leaves them out. Entries older than 30 days are dropped.",
    show_default=False,
)


@app.command()
def selftest(
    policy: Path = POLICY_OPT,
    url: str = URL_OPT,
    certs: Path = CERTS_OPT,
    ca: Path = CA_OPT,
    now: str | None = NOW_OPT,
    record: Path | None = RECORD_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Send requests derived from the policy to a running gateway; exit 1 if any outcome differs from the policy."""
    from airgapctl.errors import AirgapError
    from airgapctl.gateway.policy import load_policy
    from airgapctl.gateway.selftest import run_selftest

    document, _ = load_policy(policy)
    result = run_selftest(document, url, certs, ca, today=_day(now), record=record)
    if as_json:
        print_json(result, status="ok" if result.ok else "failed")
    else:
        for mismatch in result.mismatches:
            print(f"MISMATCH {mismatch.case}: {mismatch.method} {mismatch.path} as {mismatch.client}: "
                  f"expected {mismatch.expected}, got {mismatch.got}")  # fmt: skip
        for note in result.skipped:
            print(f"skipped: {note}")
        recorded = f"; {result.recorded} recorded in {record}" if record is not None else ""
        print(
            f"selftest: {result.requests} requests, {len(result.mismatches)} mismatches, policy {result.policy_id}"
            + recorded
        )
    if not result.ok:
        raise AirgapError(
            f"{len(result.mismatches)} of {result.requests} requests did not get what the policy says",
            hint="each mismatch is listed above; do not activate this configuration",
        )
