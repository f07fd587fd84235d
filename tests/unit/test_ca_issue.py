"""``ca issue``: server and client certificates, their files, the index, and what is refused."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from airgapctl.ca import Passphrase, issue_client, issue_server, revoke
from airgapctl.ca.issue import policy_subject
from airgapctl.ca.keys import algorithm_of
from airgapctl.errors import BadInputError
from airgapctl.gateway.selftest import find_certificates
from tests.unit.ca_support import NOW, SECRET, make_ca, tree

REPO_POLICY_CLIENTS = [{"name": "frontdesk"}, {"name": "kiosk-1"}]


def _load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _ext(cert: x509.Certificate, kind):
    return cert.extensions.get_extension_for_class(kind)


@pytest.fixture
def store(tmp_path):
    return make_ca(tmp_path)


def test_a_server_certificate_is_for_tls_servers_and_its_names(store, tmp_path):
    issued = issue_server(store, SECRET, "gateway", ["gw.site.internal", "10.0.0.5"], tmp_path / "tls", now=NOW)
    cert, ca_cert = _load(tmp_path / "tls" / "gateway.crt"), store.certificate()
    cert.verify_directly_issued_by(ca_cert)
    assert cert.subject.rfc4514_string() == "CN=gateway,O=Example"
    assert _ext(cert, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    sans = _ext(cert, x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["gw.site.internal"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    constraints = _ext(cert, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = _ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    ca_ski = _ext(ca_cert, x509.SubjectKeyIdentifier).value
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski.digest
    assert _ext(cert, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=365)
    assert issued.certificate.sans == ["DNS:gw.site.internal", "IP:10.0.0.5"]


def test_the_key_is_unencrypted_private_and_the_certificates_own(store, tmp_path):
    issue_server(store, SECRET, "gateway", ["gw"], tmp_path / "tls", now=NOW)
    key_path = tmp_path / "tls" / "gateway.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(serialization.Encoding.DER, public) == _load(
        tmp_path / "tls" / "gateway.crt"
    ).public_key().public_bytes(serialization.Encoding.DER, public)
    assert (tmp_path / "tls" / "ca.crt").read_bytes() == store.cert_path.read_bytes()


def test_a_client_certificate_is_for_tls_clients_under_the_default_subject(store, tmp_path):
    issued = issue_client(store, SECRET, "kiosk-1", tmp_path / "clients", now=NOW)
    cert = _load(tmp_path / "clients" / "kiosk-1.crt")
    assert cert.subject.rfc4514_string() == "CN=kiosk-1,O=Example" == issued.certificate.subject
    assert _ext(cert, x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    with pytest.raises(x509.ExtensionNotFound):
        _ext(cert, x509.SubjectAlternativeName)


def test_a_ca_without_an_organization_gives_cn_alone(tmp_path):
    store = make_ca(tmp_path, organization=None)
    assert issue_client(store, SECRET, "kiosk-1", tmp_path / "c", now=NOW).certificate.subject == "CN=kiosk-1"


def test_a_given_subject_is_the_one_the_certificate_and_the_index_carry(store, tmp_path):
    issued = issue_client(store, SECRET, "frontdesk", tmp_path / "c", subject="CN=frontdesk,OU=clinic,O=Lab", now=NOW)
    assert _load(tmp_path / "c" / "frontdesk.crt").subject.rfc4514_string() == "CN=frontdesk,OU=clinic,O=Lab"
    record = json.loads(store.index_path.read_text())["certificates"][0]
    assert record == {
        "serial": issued.certificate.serial, "kind": "client", "name": "frontdesk",
        "subject": "CN=frontdesk,OU=clinic,O=Lab", "sans": [], "not_before": "2026-06-01T11:00:00Z",
        "not_after": "2027-06-01T12:00:00Z", "status": "valid", "revoked_at": None, "reason": None,
    }  # fmt: skip
    assert store.issued_path(issued.certificate.serial).read_bytes() == (tmp_path / "c" / "frontdesk.crt").read_bytes()


def test_the_subject_can_come_from_the_compiled_policy(repo):
    policy = repo / "tests" / "fixtures" / "audit" / "policy.json"
    assert policy_subject(policy, "bob") == "CN=bob,OU=ops,O=Example"
    with pytest.raises(BadInputError, match=r"has no client 'dave' \(clients: alice, bob, carol\)"):
        policy_subject(policy, "dave")


def test_the_files_are_where_gateway_selftest_looks_for_them(store, tmp_path):
    for name in ("frontdesk", "kiosk-1"):
        issue_client(store, SECRET, name, tmp_path / "certs", now=NOW)
    found = find_certificates(tmp_path / "certs", REPO_POLICY_CLIENTS)
    assert found == {
        n: (tmp_path / "certs" / f"{n}.crt", tmp_path / "certs" / f"{n}.key") for n in ("frontdesk", "kiosk-1")
    }


@pytest.mark.parametrize("algorithm", ["p256", "ed25519"])
def test_leaf_keys_follow_the_ca_unless_told(tmp_path, algorithm):
    store = make_ca(tmp_path, algorithm)
    assert issue_client(store, SECRET, "a", tmp_path / "c", now=NOW).algorithm == algorithm
    other = "p256" if algorithm == "ed25519" else "ed25519"
    issued = issue_client(store, SECRET, "b", tmp_path / "c", algorithm=other, now=NOW)
    assert algorithm_of(_load(tmp_path / "c" / "b.crt").public_key()) == issued.algorithm == other


def test_a_name_with_a_valid_certificate_is_not_issued_again(store, tmp_path):
    issue_client(store, SECRET, "kiosk-1", tmp_path / "a", now=NOW)
    before = tree(store.directory)
    with pytest.raises(BadInputError, match="kiosk-1 already has a valid client certificate") as error:
        issue_server(store, SECRET, "kiosk-1", ["gw"], tmp_path / "b", now=NOW)
    assert "airgapctl ca revoke kiosk-1" in error.value.hint
    assert tree(store.directory) == before and not (tmp_path / "b").exists()
    # Revoked, or expired: the name is free again.
    revoke(store, SECRET, "kiosk-1", now=NOW)
    issue_client(store, SECRET, "kiosk-1", tmp_path / "b", days=1, now=NOW)
    issue_client(store, SECRET, "kiosk-1", tmp_path / "c", now=NOW + dt.timedelta(days=2))


def test_existing_files_are_never_overwritten_and_nothing_is_recorded(store, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "kiosk-1.key").write_text("someone's key")
    before = tree(store.directory)
    with pytest.raises(BadInputError, match=r"kiosk-1\.key already exists; refusing to overwrite it"):
        issue_client(store, SECRET, "kiosk-1", tmp_path / "c", now=NOW)
    assert tree(store.directory) == before
    assert (tmp_path / "c" / "kiosk-1.key").read_text() == "someone's key"
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["kiosk-1.key"]


def test_another_cas_certificate_beside_is_refused(store, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "ca.crt").write_text("another CA")
    with pytest.raises(BadInputError, match=r"ca\.crt exists and is not this CA.s certificate"):
        issue_client(store, SECRET, "kiosk-1", tmp_path / "c", now=NOW)


def test_a_wrong_passphrase_changes_nothing(store, tmp_path):
    before = tree(store.directory)
    with pytest.raises(BadInputError, match=r"cannot decrypt the CA key .*: wrong passphrase"):
        issue_client(store, Passphrase(b"not the passphrase"), "kiosk-1", tmp_path / "c", now=NOW)
    assert tree(store.directory) == before and not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda s, out: issue_server(s, SECRET, "gw", ["not a name"], out, now=NOW), "neither a DNS name"),
        (lambda s, out: issue_server(s, SECRET, "gw", [], out, now=NOW), "at least one --san"),
        (lambda s, out: issue_server(s, SECRET, "Gateway", ["gw"], out, now=NOW), "is not a valid name"),
        (lambda s, out: issue_client(s, SECRET, "a", out, subject="OU=x", now=NOW), "exactly one CN"),
        (lambda s, out: issue_client(s, SECRET, "a", out, days=4000, now=NOW), "would outlive the CA"),
        (lambda s, out: issue_client(s, SECRET, "a", out, algorithm="rsa", now=NOW), "--algorithm 'rsa'"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(store, tmp_path, call, problem):
    before = tree(store.directory)
    with pytest.raises(BadInputError, match=problem):
        call(store, tmp_path / "out")
    assert tree(store.directory) == before and not (tmp_path / "out").exists()


def test_a_damaged_index_is_named(store, tmp_path):
    store.index_path.write_text("{not json")
    with pytest.raises(BadInputError, match=f"CA index {store.index_path} is damaged") as error:
        issue_client(store, SECRET, "a", tmp_path / "c", now=NOW)
    assert "backup" in error.value.hint


def test_a_key_that_is_not_the_certificates_is_refused(store, tmp_path):
    other = make_ca(tmp_path / "other")
    store.key_path.write_bytes(other.key_path.read_bytes())
    with pytest.raises(BadInputError, match="is not the key of the CA certificate beside it"):
        issue_client(store, SECRET, "a", tmp_path / "c", now=NOW)


@pytest.mark.parametrize("inside", [".", "certs", "keys/new"])
def test_issued_keys_are_never_written_into_the_ca_directory(store, inside):
    before = tree(store.directory)
    with pytest.raises(BadInputError, match="is inside the CA directory"):
        issue_client(store, SECRET, "alice", store.directory / inside, now=NOW)
    assert tree(store.directory) == before
