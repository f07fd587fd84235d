"""``render_gateway``: policy.json in, a tested NGINX prefix directory out.

The templates are package data (``templates/``) and this is their only renderer: the gateway_proxy
role runs the airgapctl installed on the appliance. They see ``ansible_managed`` and the
``gateway_proxy_*`` variables built by :func:`template_variables` (docs/gateway.md).
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from airgapctl.errors import AirgapError, BadInputError
from airgapctl.gateway.credentials import include_file_name
from airgapctl.gateway.model import build_gateway_model
from airgapctl.gateway.nginx import install, nginx_test, reject
from airgapctl.gateway.policy import PolicySource, load_policy
from airgapctl.gateway.recorded_options import MARK as OPTIONS_MARK
from airgapctl.gateway.recorded_options import record as record_options
from airgapctl.gateway.upstreams import safe_path

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Rendered into the prefix directory as NAME without ".j2"; macros/ only holds imported helpers.
TEMPLATE_NAMES = (
    "nginx.conf.j2",
    "gateway/maps.conf.j2",
    "gateway/limits.conf.j2",
    "gateway/upstreams.conf.j2",
    "gateway/server.conf.j2",
    "gateway/errors.conf.j2",
    "gateway/headers.js.j2",
)
# Rendered once per body location with request checks, as gateway/checks/<index>.js.
CHECK_MODULE_TEMPLATE = "gateway/checks.js.j2"
# What of a prefix directory is configuration (the rest is logs and temporary files).
CONFIG_SUFFIXES = (".conf", ".js")
ANSIBLE_MANAGED = "Managed by airgapctl (gateway render / role gateway_proxy): edits here are overwritten."
# A DNS name, an IPv4 address or a bracketed IPv6 address: what a Host header may name exactly.
_SERVER_NAME = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\]"
)
_LISTEN = re.compile(r"^(?:(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?([0-9]{1,5})$")


@dataclass
class RenderOptions:
    """Where the gateway listens and finds its files. Relative paths are relative to the prefix DIR."""

    listen: str = "127.0.0.1:8443"
    # The names clients reach the gateway by (Host header and TLS server name); any other is
    # refused. Loopback only unless named: a gateway nobody named answers no one else.
    server_names: tuple[str, ...] = ("localhost", "127.0.0.1")
    server_cert: str = "/etc/airgap/tls/gateway.crt"
    server_key: str = "/etc/airgap/tls/gateway.key"
    client_ca: str = "/etc/airgap/tls/client-ca.crt"
    # PEM CRLs of the client CA(s); None: no revocation list (ssl_crl needs one for every CA in the chain).
    client_crl: str | None = None
    access_log: str = "logs/access.log"
    # None: each line is written as its request ends. A size (e.g. "64k"): lines are written in
    # batches, at the latest a second after they were logged; a crash of NGINX loses that second.
    access_log_buffer: str | None = None
    error_log: str = "logs/error.log"
    pid_file: str = "logs/nginx.pid"
    temp_dir: str = "tmp"
    credentials_dir: str = "/etc/airgap/credentials"
    # The day that decides whether a sunset has passed; None means today.
    now: date | None = None
    worker_processes: str = "auto"
    # None: no user directive (workers run as NGINX's default when started as root).
    user: str | None = None
    # Trust anchors for https upstreams with tls_verify and no ca_file of their own.
    upstream_ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    nginx_binary: str = "/usr/sbin/nginx"
    templates_dir: Path = TEMPLATES_DIR


@dataclass
class RenderResult:
    out_dir: str
    previous_dir: str | None
    policy: str
    policy_id: str
    site: str
    operations: int
    apis: int
    clients: int
    roles: int
    body_classes: int
    rate_zones: int
    files: list[str]
    nginx_test: str
    next_sunset: str | None
    render_seconds: float = 0.0
    nginx_test_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    # False: DIR already held exactly these files; nothing was tested, swapped or moved to DIR.prev.
    changed: bool = True
    # With check: DIR's files against the rendering, as a unified diff; nothing was written.
    diff: str = ""


def render_gateway(
    policy: PolicySource, out_dir: str | Path, options: RenderOptions | None = None, check: bool = False
) -> RenderResult:
    """Validate the policy, render the templates into a sibling of DIR, ``nginx -t`` it, then swap it in.

    ``check``: only say whether DIR would change, and how (``diff``); nothing is written or tested."""
    options = options or RenderOptions()
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise BadInputError(f"{out} exists and is not a directory")
    started = time.monotonic()
    document, label = load_policy(policy)
    variables = template_variables(document, options)
    check_inputs(document, options, out)
    rendered = render_templates(variables, options.templates_dir)
    if _holds(out, rendered):
        result = _result(document, label, variables["gateway_proxy_model"], sorted(rendered), out)
        result.changed, result.nginx_test = False, "skipped (unchanged)"
        result.render_seconds = round(time.monotonic() - started, 3)
        return result
    if check:
        result = _result(document, label, variables["gateway_proxy_model"], sorted(rendered), out)
        result.nginx_test, result.diff = "skipped (check)", _diff(out, rendered)
        result.render_seconds = round(time.monotonic() - started, 3)
        return result
    staging = _stage(out, rendered, options)
    render_seconds = time.monotonic() - started

    started = time.monotonic()
    try:
        test = nginx_test(options.nginx_binary, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    test_seconds = time.monotonic() - started
    if not test.ok:
        raise reject(staging, out, test)
    result = _result(document, label, variables["gateway_proxy_model"], sorted(rendered), out)
    try:
        result.previous_dir = _optional_str(install(staging, out))
    except OSError as error:
        raise AirgapError(f"cannot put the new configuration in place: {error}", hint=f"see {staging}") from error
    result.render_seconds = round(render_seconds, 3)
    result.nginx_test_seconds = round(test_seconds, 3)
    result.warnings += [line.replace(str(staging), str(out)) for line in test.warnings]
    return result


def _holds(out: Path, rendered: dict[str, str]) -> bool:
    """Whether DIR's configuration files are exactly ``rendered`` (a re-run with the same inputs)."""
    if not out.is_dir():
        return False
    present = _config_files(out)
    if present != set(rendered):
        return False
    try:
        return all((out / name).read_text(encoding="utf-8") == text for name, text in rendered.items())
    except (OSError, UnicodeDecodeError):
        return False


def _config_files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.suffix in CONFIG_SUFFIXES and p.is_file()}


def _diff(out: Path, rendered: dict[str, str]) -> str:
    """DIR's configuration files against the rendering (files NGINX would no longer load included)."""
    present = _config_files(out) if out.is_dir() else set()
    lines: list[str] = []
    for name in sorted(present | set(rendered)):
        try:
            before = (out / name).read_text(encoding="utf-8", errors="replace") if name in present else ""
        except OSError:
            before = ""
        after = rendered.get(name, "")
        lines += difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"{out}/{name}", f"{out}/{name}"
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# What NGINX loads besides the rendered files, in the order a person fixes them: the gateway's
# own certificate first, then what it checks clients with, then the APIs' credentials.
_TLS_FILES = (
    ("server_cert", "server certificate", "--server-cert", "airgapctl ca issue server NAME --san ..."),
    ("server_key", "server key", "--server-key", "airgapctl ca issue server NAME --san ..."),
    ("client_ca", "client CA certificate", "--client-ca", "the ca.crt of 'airgapctl ca init'"),
    ("client_crl", "client CRL", "--client-crl", "airgapctl ca crl"),
)


def check_inputs(policy: dict[str, Any], options: RenderOptions, out: Path) -> None:
    """Name the first missing input NGINX would load, before ``nginx -t`` reports whichever it met first."""
    for attribute, what, option, remedy in _TLS_FILES:
        value = getattr(options, attribute)
        if value is None:
            continue
        path = Path(value) if Path(value).is_absolute() else out / value
        if not path.is_file():
            raise BadInputError(f"the {what} {path} does not exist", hint=f"give {option}, or make it with {remedy}")
    for api in policy["apis"]:
        credential = api["upstream"].get("credential")
        if not credential:
            continue
        include = Path(options.credentials_dir) / include_file_name(credential)
        if not include.is_file():
            raise BadInputError(
                f"API {api['name']}: the credential include {include} does not exist",
                hint=f"write it with 'airgapctl vault set {credential}' and the secrets role (or --credentials-dir)",
            )


def _optional_str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _result(document: dict[str, Any], label: str, model: dict[str, Any], files: list[str], out: Path) -> RenderResult:
    return RenderResult(
        out_dir=str(out),
        previous_dir=None,
        policy=label,
        policy_id=document["policy_id"],
        site=document["site"],
        operations=len(model["operations"]),
        apis=len(model["apis"]),
        clients=len(model["clients"]),
        roles=len(document["roles"]),
        body_classes=len(model["body_classes"]),
        rate_zones=len(model["rate_zones"]),
        files=files,
        nginx_test="ok",
        next_sunset=model["next_sunset"],
        # What of the specs the request checks cannot check, named by operation and place.
        warnings=list(model["request_checks"]["warnings"]),
    )


def template_variables(policy: dict[str, Any], options: RenderOptions) -> dict[str, Any]:
    """Every variable the templates use; the gateway_proxy role must define the same names."""
    _check_options(options)
    return {
        "ansible_managed": ANSIBLE_MANAGED,
        "gateway_proxy_policy": policy,
        "gateway_proxy_model": build_gateway_model(policy, options.now or date.today(), server_names(options)),
        "gateway_proxy_listen": options.listen,
        "gateway_proxy_server_cert": options.server_cert,
        "gateway_proxy_server_key": options.server_key,
        "gateway_proxy_client_ca": options.client_ca,
        "gateway_proxy_client_crl": options.client_crl or "",
        "gateway_proxy_access_log": options.access_log,
        "gateway_proxy_access_log_buffer": options.access_log_buffer or "",
        "gateway_proxy_error_log": options.error_log,
        "gateway_proxy_pid_file": options.pid_file,
        "gateway_proxy_temp_dir": options.temp_dir,
        "gateway_proxy_credentials_dir": options.credentials_dir.rstrip("/") or "/",
        "gateway_proxy_worker_processes": options.worker_processes,
        "gateway_proxy_user": options.user or "",
        "gateway_proxy_upstream_ca_bundle": options.upstream_ca_bundle,
        "gateway_proxy_render_options": OPTIONS_MARK + record_options(options),
    }


def server_names(options: RenderOptions) -> list[str]:
    """The gateway's own names, lower case (NGINX compares host names case-insensitively)."""
    return [name.lower() for name in options.server_names]


# The styles of Ansible's ``comment`` filter the templates use, and their comment mark.
_COMMENT_MARKS = {"plain": "#", "c": "//"}


def comment(text: str, style: str = "plain") -> str:
    """Ansible's ``comment`` filter in its plain ('#') and c ('//') styles, for ``ansible_managed``."""
    mark = _COMMENT_MARKS[style]
    return "\n".join([mark, *(f"{mark} {line}".rstrip() for line in str(text).splitlines()), mark])


def template_environment(templates_dir: Path) -> jinja2.Environment:
    """Jinja set up as Ansible's template module does it: trim_blocks, strict undefined, no escaping."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - NGINX configuration, not HTML
    )
    env.filters["comment"] = comment
    return env


def render_templates(variables: dict[str, Any], templates_dir: Path = TEMPLATES_DIR) -> dict[str, str]:
    """Render every template; returns {relative output path: text}."""
    env = template_environment(templates_dir)
    try:
        rendered = {name.removesuffix(".j2"): env.get_template(name).render(variables) for name in TEMPLATE_NAMES}
        template = env.get_template(CHECK_MODULE_TEMPLATE)
        for module in variables["gateway_proxy_model"]["request_checks"]["modules"]:
            text = template.render({**variables, "gateway_proxy_check_module": module})
            rendered[f"gateway/checks/{module['index']}.js"] = text
        return rendered
    except jinja2.TemplateError as error:
        where = f"{getattr(error, 'filename', None) or templates_dir}:{getattr(error, 'lineno', '?')}"
        raise AirgapError(f"gateway template error at {where}: {error}") from error


def _stage(out: Path, rendered: dict[str, str], options: RenderOptions) -> Path:
    """Write the rendered files into a new hidden sibling of DIR (same file system, so rename works)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=out.parent))
    except OSError as error:
        raise AirgapError(f"cannot write next to {out}: {error.strerror or error}") from error
    try:
        # NGINX workers (not root) use the temp directory inside it.
        staging.chmod(0o755)
        for name, text in rendered.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        # NGINX creates the last path component only; relative paths live under the prefix.
        for path in (options.access_log, options.error_log, options.pid_file):
            if not Path(path).is_absolute():
                (staging / path).parent.mkdir(parents=True, exist_ok=True)
        if not Path(options.temp_dir).is_absolute():
            (staging / options.temp_dir).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise AirgapError(f"cannot write the configuration into {staging}: {error.strerror or error}") from error
    return staging


def _check_options(options: RenderOptions) -> None:
    match = _LISTEN.match(options.listen)
    if match is None or not 0 < int(match.group(1)) < 65536:
        raise BadInputError(f"listen {options.listen!r} is not [HOST:]PORT", hint="e.g. 127.0.0.1:8443 or [::1]:8443")
    if options.access_log_buffer is not None and not re.fullmatch(r"[1-9][0-9]{0,5}[kK]?", options.access_log_buffer):
        raise BadInputError(
            f"access log buffer {options.access_log_buffer!r} is not a size",
            hint="e.g. 64k; leave it out to write each line",
        )
    workers = options.worker_processes
    if workers != "auto" and not (workers.isdigit() and int(workers) > 0):
        raise BadInputError(f"worker_processes {workers!r} must be 'auto' or a positive number")
    if options.user is not None and not re.fullmatch(r"[a-z_][a-z0-9_-]*(?: [a-z_][a-z0-9_-]*)?", options.user):
        raise BadInputError(f"user {options.user!r} is not a user name")
    for what in ("server_cert", "server_key", "client_ca", "access_log", "error_log", "pid_file", "temp_dir"):
        safe_path(getattr(options, what), what)
    if options.client_crl is not None:
        safe_path(options.client_crl, "client_crl")
    if not options.server_names:
        raise BadInputError("server_names is empty", hint="name the host names clients reach the gateway by")
    for name in options.server_names:
        if not _SERVER_NAME.fullmatch(name):
            raise BadInputError(f"server name {name!r} is not a host name or IP address", hint="e.g. gw.site.example")
    safe_path(options.credentials_dir, "credentials_dir")
    safe_path(options.upstream_ca_bundle, "upstream_ca_bundle")
