"""The credential include file: what the gateway's NGINX includes to add an upstream credential.

For an API whose upstream names a credential, the gateway's location includes
``<credentials_dir>/<credential>.conf``. That file is one comment naming the credential (never
the value) and one ``proxy_set_header`` line. This module is its only definition and holds the
rules a name, a header and a value must meet to be written into it safely.

Standard library only: the secrets role writes the file on the appliance with a byte-identical
copy of this module (roles/secrets/module_utils/airgap_credentials.py, ``make module-utils``;
a test checks the copy), so the role and airgapctl cannot disagree on the format.
"""

from __future__ import annotations

import re

# A vault entry name, as access.yml's upstream.credential allows it (access.schema.json).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_NAME = re.compile(NAME_PATTERN)
DEFAULT_HEADER = "Authorization"
# The HTTP token characters that are not NGINX syntax ('$' interpolates, quotes quote, '#' may
# comment), without '_', which NGINX and other proxies drop from header names by default.
_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
# Headers the gateway sets itself on every proxied request (gateway/server.conf.j2; a test
# checks this list against the rendered configuration), and those that frame the request or
# the connection. NGINX sends every proxy_set_header line, so a credential naming one of them
# would send a second value upstream or break the proxying. Lower case: names compare so.
RESERVED_HEADERS = frozenset(
    {
        # set by the gateway
        "host",
        "connection",
        "x-request-id",
        "x-client-identity",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-real-ip",
        "content-type",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-rewrite-url",
        "forwarded",
        "x-forwarded-host",
        "x-client-cert",
        "x-client-dn",
        "x-client-verify",
        "x-ssl-client-cert",
        "x-ssl-client-dn",
        "x-ssl-client-s-dn",
        "x-ssl-client-verify",
        "x-forwarded-client-cert",
        "ssl-client-cert",
        # framing and hop-by-hop
        "content-length",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "expect",
    }
)
# NGINX reads a configuration word into a 4 KiB buffer ("too long parameter" beyond 4094 bytes
# between the quotes, escapes included); this keeps clear of it.
MAX_QUOTED_LENGTH = 4000
_CONTROL_NAMES = {0x09: "a tab", 0x0A: "a line feed", 0x0D: "a carriage return", 0x7F: "a DEL character"}


class CredentialError(ValueError):
    """Why a credential cannot be written. The message names the credential, never its value."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CredentialError(
            f"credential name {name!r} is not a vault entry name",
            "use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def check_header(name: str, header: object) -> str:
    if not isinstance(header, str) or not _HEADER.fullmatch(header):
        raise CredentialError(
            f"credential {name}: header {header!r} is not a header name this gateway sends",
            "use letters, digits and '-', starting with a letter (e.g. Authorization, X-Api-Key)",
        )
    if header.lower() in RESERVED_HEADERS:
        raise CredentialError(
            f"credential {name}: header {header} is one the gateway sets itself or one that frames the request",
            "send the credential in Authorization or a header of its own, such as X-Api-Key",
        )
    return header


def check_value(name: str, value: object) -> str:
    """The value, if NGINX can send it upstream exactly as it is; the error never quotes it."""
    if not isinstance(value, str):
        raise CredentialError(f"credential {name}: the value is not text", "give the value as a string")
    if not value:
        raise CredentialError(f"credential {name}: the value is empty", "give the credential's value")
    for position, character in enumerate(value, 1):
        code = ord(character)
        if code < 0x20 or code == 0x7F:
            what = _CONTROL_NAMES.get(code, f"control character U+{code:04X}")
            raise CredentialError(
                f"credential {name}: the value holds {what} at character {position}",
                "a header value is one line of printable ASCII; remove the character (a trailing newline is removed "
                "from standard input already)",
            )
        if code > 0x7E:
            raise CredentialError(
                f"credential {name}: the value holds a non-ASCII character at character {position}",
                "a header value is printable ASCII; encode the credential (e.g. base64) as the upstream expects",
            )
        if character == "$":
            raise CredentialError(
                f"credential {name}: the value holds '$' at character {position}",
                "NGINX reads '$' as a variable in every string and has no escape for it; issue a credential "
                "without '$'",
            )
    if value[0] == " " or value[-1] == " ":
        raise CredentialError(
            f"credential {name}: the value starts or ends with a space",
            "HTTP drops spaces around a header value, so the upstream would not get it exactly; remove them",
        )
    if len(_quoted(value)) > MAX_QUOTED_LENGTH:
        raise CredentialError(
            f"credential {name}: the value is {len(_quoted(value))} characters once quoted for NGINX, "
            f"more than {MAX_QUOTED_LENGTH}",
            "NGINX reads a configuration word of at most 4 KiB; issue a shorter credential",
        )
    return value


def _quoted(value: str) -> str:
    """The value inside NGINX double quotes: there a backslash escapes the next character ("\\t" would
    be a tab), so both the backslash and the quote are escaped. '$' has no escape at all."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def include_file_name(name: str) -> str:
    """The file the gateway includes for credential ``name``, relative to the credentials directory."""
    return f"{check_name(name)}.conf"


def include_text(name: str, header: str | None, value: str) -> str:
    """The whole include file for one credential (``header`` None: Authorization)."""
    check_name(name)
    header = check_header(name, DEFAULT_HEADER if header is None else header)
    quoted = _quoted(check_value(name, value))
    return (
        f"# Managed by airgapctl (the secrets role): upstream credential {name}. Edits here are replaced;\n"
        f"# change the credential with 'airgapctl vault rotate {name}' and converge.\n"
        f'proxy_set_header {header} "{quoted}";\n'
    )
