"""Certificate names: the name a certificate is issued under, its subject DN and its SANs."""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509
from cryptography.x509.oid import NameOID

from airgapctl.errors import BadInputError

# The access file's name rule: a client's certificate is issued under its policy name, and
# `gateway selftest --certs DIR` looks for DIR/<client>.crt and DIR/<client>.key.
NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# OUTDIR/ca.crt is the CA certificate written beside every issued pair.
RESERVED_NAMES = frozenset({"ca"})

ATTRIBUTES = {
    "CN": NameOID.COMMON_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
}
_SHORT = {oid: short for short, oid in ATTRIBUTES.items()}
# Values that neither RFC 2253 escaping (NGINX's $ssl_client_s_dn) nor RFC 4514 escaping changes,
# so the subject recorded here, the one access.yml names and the one NGINX shows are the same text.
VALUE = re.compile(r"[A-Za-z0-9._@'():/&-](?:[A-Za-z0-9 ._@'():/&-]{0,62}[A-Za-z0-9._@'():/&-])?")
VALUE_RULE = "letters, digits, spaces inside, and . _ @ ' ( ) : / & - (at most 64)"
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def check_name(name: str, kind: str) -> str:
    """The name a certificate is issued under: the access file's name rule, and not a reserved one."""
    if not NAME.fullmatch(name):
        raise BadInputError(
            f"{kind} name {name!r} is not a valid name",
            hint="a lower-case letter, then letters, digits, '_' or '-' (at most 63), as access.yml names clients",
        )
    if name in RESERVED_NAMES:
        raise BadInputError(
            f"{kind} name {name!r} is reserved: {name}.crt is the CA certificate", hint="choose another name"
        )
    return name


def check_value(value: str, what: str) -> str:
    if not VALUE.fullmatch(value):
        raise BadInputError(f"{what} {value!r} is not allowed in a certificate subject", hint=f"use {VALUE_RULE}")
    return value


def parse_subject(text: str, option: str = "--subject") -> x509.Name:
    """x509.Name from RFC 2253 text, most specific attribute first: ``CN=alice,OU=ops,O=Example``."""
    hint = f'write it as NGINX shows it, e.g. {option} "CN=alice,OU=ops,O=Example" (attributes: CN OU O L ST C)'
    pairs = []
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        key = key.strip().upper()
        if not sep or key not in ATTRIBUTES:
            raise BadInputError(f"{option} {text!r}: {part.strip()!r} is not an attribute=value pair", hint=hint)
        if not VALUE.fullmatch(value):
            raise BadInputError(
                f"{option} {text!r}: {key} value {value!r} is not allowed in a certificate subject",
                hint=f"values hold {VALUE_RULE}; {hint}",
            )
        if key == "C" and not re.fullmatch(r"[A-Z]{2}", value):
            raise BadInputError(f"{option} {text!r}: C must be a two-letter country code, e.g. C=DE", hint=hint)
        pairs.append((key, value))
    if [key for key, _ in pairs].count("CN") != 1:
        raise BadInputError(f"{option} {text!r} must have exactly one CN", hint=hint)
    # RFC 2253 text lists the certificate's RDNs last first.
    return x509.Name([x509.NameAttribute(ATTRIBUTES[key], value) for key, value in reversed(pairs)])


def subject_text(name: x509.Name) -> str:
    """The subject as NGINX's $ssl_client_s_dn shows it, and as access.yml's clients[].subject names it."""
    return ",".join(f"{_SHORT.get(a.oid, a.oid.dotted_string)}={a.value}" for a in reversed(list(name)))


def attribute(name: x509.Name, short: str) -> str | None:
    values = name.get_attributes_for_oid(ATTRIBUTES[short])
    return str(values[0].value) if values else None


def parse_san(text: str) -> x509.GeneralName:
    """``DNS:name``, ``IP:address``, or either bare (an address is an IP SAN)."""
    kind, sep, value = text.partition(":")
    if sep and kind.upper() in ("DNS", "IP"):
        kind = kind.upper()
    else:
        kind, value = "", text
    hint = (
        "give a DNS name (gateway.site.internal) or an IP address (10.0.0.5, fd00::5), optionally as DNS:... / IP:..."
    )
    if kind in ("", "IP"):
        try:
            return x509.IPAddress(ipaddress.ip_address(value))
        except ValueError:
            if kind == "IP":
                raise BadInputError(f"--san {text!r} is not an IP address", hint=hint) from None
    dns = value.lower().rstrip(".")
    if dns.startswith("*."):
        raise BadInputError(
            f"--san {text!r}: wildcard names are not issued", hint="name each host the gateway answers as"
        )
    labels = dns.split(".")
    if not dns or len(dns) > 253 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise BadInputError(f"--san {text!r} is neither a DNS name nor an IP address", hint=hint)
    return x509.DNSName(dns)


def san_text(name: x509.GeneralName) -> str:
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    return f"DNS:{name.value}"


def parse_sans(values: list[str]) -> list[x509.GeneralName]:
    """The SANs of a server certificate, in the order given, each once; at least one."""
    if not values:
        raise BadInputError(
            "a server certificate needs at least one --san", hint="e.g. --san gateway.site.internal --san 10.0.0.5"
        )
    names: list[x509.GeneralName] = []
    for value in values:
        name = parse_san(value.strip())
        if name not in names:
            names.append(name)
    return names
