"""How each API's upstream is reached: parsed from policy.apis[].upstream and checked for safe text."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from airgapctl.errors import BadInputError
from airgapctl.gateway.credentials import NAME_PATTERN
from airgapctl.gateway.patterns import literal_pattern

# A host name or an IPv4 address; IPv6 literals are handled separately.
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# The upstream path prefix goes into NGINX values, where '$' would name a variable: keep it plain.
_UPSTREAM_PATH = re.compile(r"^(?:/(?:[A-Za-z0-9._~!&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*$")
# The vault entry names the secrets role writes include files for.
_CREDENTIAL = re.compile(NAME_PATTERN)
# Paths written into the configuration: absolute-or-relative file names without NGINX syntax in them.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/+@:,=-]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def upstream_entry(api: dict[str, Any]) -> dict[str, Any]:
    """The template data for one API: upstream block name, address, Host header, path mapping, TLS."""
    name, upstream = api["name"], api["upstream"]
    where = f"apis[{name}].upstream"
    scheme, host, port, path_prefix = _checked_url(upstream["url"], where)
    credential, ca_file = upstream["credential"], upstream["ca_file"]
    if credential is not None and not _CREDENTIAL.fullmatch(credential):
        raise BadInputError(f"{where}: credential {credential!r} is not a plain name (letters, digits, . _ -)")
    if ca_file is not None:
        safe_path(ca_file, f"{where}.ca_file")
    bracketed = f"[{host}]" if ":" in host else host
    return {
        "name": name,
        "upstream": f"gw_api_{name}",
        "scheme": scheme,
        "server": f"{bracketed}:{port}",
        "host_header": bracketed if port == _DEFAULT_PORTS[scheme] else f"{bracketed}:{port}",
        "tls_name": host,
        "base_path": api["base_path"],
        "path_prefix": path_prefix,
        # $request_uri minus base_path, under the upstream path: the literal base keeps the raw and the
        # decoded path aligned because the canonical check refuses percent-encoded unreserved characters.
        "uri_var": f"gw_upstream_uri_{variable_suffix(name)}",
        "uri_pattern": f"^{literal_pattern(api['base_path'])}(/.*)$",
        "uri_value": f"{path_prefix}$1",
        "tls_verify": upstream["tls_verify"],
        "ca_file": ca_file,
        "credential": credential,
    }


def variable_suffix(name: str) -> str:
    """NGINX variable names take letters, digits and '_' only."""
    return name.replace("-", "_")


def _checked_url(url: str, where: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix without trailing '/') of an upstream URL safe to write into NGINX."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise BadInputError(f"{where}: the url must not carry user information; use a credential")
    if parts.query or parts.fragment:
        raise BadInputError(f"{where}: the url must not have a query or fragment")
    host, port = _host_and_port(parts, where)
    path_prefix = parts.path.rstrip("/")
    if not _UPSTREAM_PATH.match(path_prefix):
        raise BadInputError(f"{where}: url path {parts.path!r} has characters the gateway does not pass through")
    return parts.scheme, host, port, path_prefix


def _host_and_port(parts: Any, where: str) -> tuple[str, int]:
    if parts.scheme not in _DEFAULT_PORTS:
        raise BadInputError(f"{where}: url scheme must be http or https")
    host = parts.hostname or ""
    is_ipv6 = ":" in host and re.fullmatch(r"[0-9A-Fa-f:.]+", host) is not None
    if not (is_ipv6 or _HOST.match(host)):
        raise BadInputError(f"{where}: url host {host!r} is not a host name or IP address")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as error:
        raise BadInputError(f"{where}: url port is not valid: {error}") from error
    return host, port


def safe_path(path: str, what: str) -> str:
    """Refuse file names that NGINX would read as syntax or variables (quotes, ';', '$', spaces, braces)."""
    if not _SAFE_PATH.match(path):
        raise BadInputError(f"{what}: {path!r} must be a plain file name (letters, digits and ._/+@:,=-)")
    return path
