"""Certificate names: subjects as NGINX shows them, issue names as access.yml names clients, SANs."""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from airgapctl.ca.names import check_name, parse_san, parse_sans, parse_subject, subject_text
from airgapctl.errors import BadInputError


def test_a_subject_lists_its_most_specific_attribute_first_as_nginx_does():
    name = parse_subject("CN=frontdesk,OU=clinic,O=Lab")
    assert [a.oid for a in name] == [NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.COMMON_NAME]
    assert subject_text(name) == "CN=frontdesk,OU=clinic,O=Lab" == name.rfc4514_string()


def test_a_subject_is_normalised_to_the_text_nginx_shows():
    assert subject_text(parse_subject("cn=kiosk-1, ou=clinic, o=Lab")) == "CN=kiosk-1,OU=clinic,O=Lab"
    assert subject_text(parse_subject("CN=Jo Smith (ops),O=Example Corp.,C=DE")) == (
        "CN=Jo Smith (ops),O=Example Corp.,C=DE"
    )


@pytest.mark.parametrize(
    ("subject", "problem"),
    [
        ("OU=ops,O=Example", "exactly one CN"),
        ("CN=a,CN=b", "exactly one CN"),
        ("CN=alice,X=1", "not an attribute=value pair"),
        ("CN=alice;O=x", "not allowed"),
        ("CN=a+UID=b", "not allowed"),
        ('CN="alice"', "not allowed"),
        ("CN= alice", "not allowed"),
        ("CN=alice,O=", "not allowed"),
        ("CN=alice,C=Germany", "two-letter country code"),
        ("CN=Jörg", "not allowed"),
        ("alice", "not an attribute=value pair"),
    ],
)
def test_a_subject_nginx_would_show_differently_is_refused(subject, problem):
    with pytest.raises(BadInputError, match=problem) as error:
        parse_subject(subject)
    assert error.value.hint and "CN=alice,OU=ops,O=Example" in error.value.hint


@pytest.mark.parametrize("name", ["frontdesk", "kiosk-1", "a", "vet_app", "x" * 63])
def test_names_follow_the_access_file_rule(name):
    assert check_name(name, "client") == name


@pytest.mark.parametrize("name", ["", "Frontdesk", "1kiosk", "kiosk.1", "../x", "x" * 64, "a b"])
def test_other_names_are_refused(name):
    with pytest.raises(BadInputError, match="is not a valid name"):
        check_name(name, "client")


def test_ca_is_reserved_for_the_ca_certificate_beside_the_issued_files():
    with pytest.raises(BadInputError, match=r"reserved: ca\.crt is the CA certificate"):
        check_name("ca", "server")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gateway.site.internal", x509.DNSName("gateway.site.internal")),
        ("DNS:Gateway.Site.Internal.", x509.DNSName("gateway.site.internal")),
        ("localhost", x509.DNSName("localhost")),
        ("10.0.0.5", x509.IPAddress(ipaddress.ip_address("10.0.0.5"))),
        ("IP:fd00::5", x509.IPAddress(ipaddress.ip_address("fd00::5"))),
        ("ip:127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
    ],
)
def test_sans_are_dns_names_or_addresses(text, expected):
    assert parse_san(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("*.site.internal", "wildcard"),
        ("IP:gateway", "not an IP address"),
        ("10.0.0.300", "neither a DNS name nor an IP address"),
        ("gate_way", "neither"),
        ("-gw.site", "neither"),
        ("gw..site", "neither"),
        ("", "neither"),
        ("a" * 64 + ".site", "neither"),
        ("URI:https://x", "neither"),
    ],
)
def test_bad_sans_are_refused(text, problem):
    with pytest.raises(BadInputError, match=problem):
        parse_san(text)


def test_a_server_needs_a_san_and_repeats_count_once():
    with pytest.raises(BadInputError, match="at least one --san"):
        parse_sans([])
    assert parse_sans(["gw", "GW", "10.0.0.5", "IP:10.0.0.5"]) == [
        x509.DNSName("gw"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.5")),
    ]
