"""Revocation and the CRL: ``ca revoke``, ``ca crl``, and ``ca check-crl`` as the appliance runs it."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from airgapctl.ca import Passphrase, check_crl, issue_client, refresh_crl, revoke
from airgapctl.ca.crl import load_crl
from airgapctl.errors import BadInputError
from tests.unit.ca_support import NOW, SECRET, make_ca, tree


@pytest.fixture
def store(tmp_path):
    store = make_ca(tmp_path)
    for name in ("alice", "bob"):
        issue_client(store, SECRET, name, tmp_path / "clients", now=NOW)
    return store


def _crl(store) -> x509.CertificateRevocationList:
    return load_crl(store.crl_path)


def _number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


@pytest.mark.parametrize("algorithm", ["p256", "ed25519"])
def test_the_first_crl_is_empty_signed_and_numbered(tmp_path, algorithm):
    store = make_ca(tmp_path, algorithm)
    crl = _crl(store)
    assert len(crl) == 0 and _number(crl) == 1
    assert crl.is_signature_valid(store.certificate().public_key())
    assert crl.next_update_utc == NOW + dt.timedelta(days=30)
    assert crl.last_update_utc < NOW
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = store.certificate().extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_revoke_by_name_lists_the_certificate_with_its_reason(store):
    result = revoke(store, SECRET, "alice", reason="key-compromise", now=NOW)
    assert (result.certificate.name, result.certificate.status) == ("alice", "revoked")
    assert (result.certificate.revoked_at, result.certificate.reason) == ("2026-06-01T12:00:00Z", "key-compromise")
    crl = _crl(store)
    (entry,) = list(crl)
    assert entry.serial_number == int(result.certificate.serial, 16)
    assert entry.revocation_date_utc == NOW
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert _number(crl) == result.crl.number == 2 and result.crl.revoked == 1
    assert store.load_index().by_serial(result.certificate.serial).status == "revoked"


def test_revoke_by_serial_in_any_spelling(store):
    serial = store.load_index().current("bob", NOW).serial
    spelled = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2)).lower()
    assert revoke(store, SECRET, spelled, now=NOW).certificate.name == "bob"
    (entry,) = list(_crl(store))
    with pytest.raises(x509.ExtensionNotFound):  # RFC 5280: no reason code for "unspecified"
        entry.extensions.get_extension_for_class(x509.CRLReason)


def test_revoking_twice_or_the_unknown_is_refused(store):
    revoke(store, SECRET, "alice", now=NOW)
    with pytest.raises(BadInputError, match="every certificate of alice is already revoked"):
        revoke(store, SECRET, "alice", now=NOW)
    serial = store.load_index().by_serial(store.load_index().certificates[0].serial).serial
    with pytest.raises(BadInputError, match=f"certificate {serial} \\(alice\\) was already revoked"):
        revoke(store, SECRET, serial, now=NOW)
    with pytest.raises(BadInputError, match="no certificate named 'mallory', and no such serial") as error:
        revoke(store, SECRET, "mallory", now=NOW)
    assert "airgapctl ca list" in error.value.hint


def test_a_wrong_passphrase_or_reason_revokes_nothing(store):
    before = tree(store.directory)
    with pytest.raises(BadInputError, match="wrong passphrase"):
        revoke(store, Passphrase(b"not the passphrase"), "alice", now=NOW)
    with pytest.raises(BadInputError, match="--reason 'stolen' is not a revocation reason"):
        revoke(store, SECRET, "alice", reason="stolen", now=NOW)
    assert tree(store.directory) == before


def test_refresh_moves_the_next_update_and_the_number_and_keeps_the_revoked(store, tmp_path):
    revoke(store, SECRET, "alice", now=NOW)
    later = NOW + dt.timedelta(days=20)
    issued = refresh_crl(store, SECRET, days=14, copy_to=tmp_path / "client-ca.crl", now=later)
    crl = _crl(store)
    assert (issued.number, _number(crl), len(crl)) == (3, 3, 1)
    assert crl.next_update_utc == later + dt.timedelta(days=14) and issued.next_update == "2026-07-05T12:00:00Z"
    assert (tmp_path / "client-ca.crl").read_bytes() == store.crl_path.read_bytes()
    assert issued.copy == str(tmp_path / "client-ca.crl")
    assert store.crl_number() == 3


def test_crl_numbers_never_repeat_even_when_the_crl_write_is_lost(store):
    """The number is saved first: a CRL lost after it costs a number, never reuses one."""
    refresh_crl(store, SECRET, now=NOW)
    store.crl_path.unlink()
    store.save_crl_number(store.crl_number())  # as left by a crash between the two writes
    assert refresh_crl(store, SECRET, now=NOW).number == 3


def test_a_crl_never_outlives_the_ca(tmp_path):
    store = make_ca(tmp_path, days=40)
    with pytest.raises(BadInputError, match="would outlive the CA"):
        refresh_crl(store, SECRET, days=41, now=NOW)


# --- check-crl, as the appliance runs it


def test_a_current_crl_passes(store):
    check = check_crl(store.crl_path, store.cert_path, min_valid_days=7, now=NOW)
    assert check.ok and check.problem is None
    assert (check.number, check.revoked, check.days_left, check.issuer) == (1, 0, 30.0, "CN=Unit Test CA,O=Example")


def test_a_crl_running_out_soon_fails_naming_file_next_update_and_fix(store):
    check = check_crl(store.crl_path, store.cert_path, min_valid_days=7, now=NOW + dt.timedelta(days=25))
    assert check.problem == (
        f"CRL {store.crl_path} expires at 2026-07-01T12:00:00Z, within 7 days: "
        "run 'airgapctl ca crl' on the CA machine and redeploy it"
    )
    assert check_crl(store.crl_path, store.cert_path, min_valid_days=0, now=NOW + dt.timedelta(days=25)).ok


def test_an_expired_crl_fails(store):
    check = check_crl(store.crl_path, store.cert_path, min_valid_days=0, now=NOW + dt.timedelta(days=31))
    assert check.problem.startswith(f"CRL {store.crl_path} expired at 2026-07-01T12:00:00Z; NGINX refuses every client")
    assert check.days_left == -1.0


def test_a_crl_from_the_future_fails(store):
    check = check_crl(store.crl_path, store.cert_path, min_valid_days=0, now=NOW - dt.timedelta(days=1))
    assert "is not valid before" in check.problem and "clock" in check.problem


def test_a_crl_of_another_ca_fails(store, tmp_path):
    namesake = make_ca(tmp_path / "namesake")  # same subject, another key
    check = check_crl(namesake.crl_path, store.cert_path, now=NOW)
    assert "its signature does not verify" in check.problem
    stranger = make_ca(tmp_path / "stranger", organization="Elsewhere")
    assert (
        "is issued by CN=Unit Test CA,O=Elsewhere, not by the CA of"
        in check_crl(stranger.crl_path, store.cert_path, now=NOW).problem
    )


def test_der_crls_are_read_too(store, tmp_path):
    from cryptography.hazmat.primitives import serialization

    der = tmp_path / "crl.der"
    der.write_bytes(_crl(store).public_bytes(serialization.Encoding.DER))
    assert check_crl(der, store.cert_path, now=NOW).ok


@pytest.mark.parametrize("which", ["crl", "ca"])
def test_unreadable_inputs_are_bad_input(store, tmp_path, which):
    junk = tmp_path / "junk.pem"
    junk.write_text("not PEM\n")
    crl, ca_cert = (junk, store.cert_path) if which == "crl" else (store.crl_path, junk)
    what = "is not a PEM or DER certificate revocation list" if which == "crl" else "is not a PEM or DER X.509"
    with pytest.raises(BadInputError, match=what):
        check_crl(crl, ca_cert, now=NOW)
    with pytest.raises(BadInputError, match="does not exist"):
        check_crl(tmp_path / "missing.crl", store.cert_path, now=NOW)
