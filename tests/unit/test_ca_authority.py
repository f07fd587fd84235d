"""``ca init``: the CA directory, the CA certificate, the encrypted key, the first CRL; never over a CA."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from airgapctl.ca import Passphrase, init_ca, open_ca
from airgapctl.errors import BadInputError
from tests.unit.ca_support import NOW, SECRET, make_ca, tree


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("algorithm", "key_type"), [("p256", ec.EllipticCurvePrivateKey), ("ed25519", ed25519.Ed25519PrivateKey)]
)
def test_init_writes_the_ca_directory(tmp_path, algorithm, key_type):
    store = make_ca(tmp_path, algorithm)
    directory = store.directory
    assert sorted(p.name for p in directory.iterdir()) == [
        ".lock", "ca.crt", "ca.key", "certs", "crl.pem", "crlnumber", "index.json"]  # fmt: skip
    assert _mode(directory) == _mode(store.certs_dir) == 0o700
    assert _mode(store.key_path) == _mode(store.index_path) == 0o600
    assert json.loads(store.index_path.read_text()) == {"version": 1, "certificates": []}
    assert store.crl_number() == 1
    pem = store.key_path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, password=None)
    assert isinstance(serialization.load_pem_private_key(pem, password=SECRET.reveal()), key_type)
    assert not list(directory.glob(".*.tmp")), "a temporary file was left behind"


def test_the_ca_certificate_can_sign_certificates_and_crls_only(tmp_path):
    cert = make_ca(tmp_path).certificate()
    assert cert.subject.rfc4514_string() == "CN=Unit Test CA,O=Example" and cert.issuer == cert.subject
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=3650)
    cert.verify_directly_issued_by(cert)


def test_an_existing_ca_is_never_overwritten(tmp_path):
    store = make_ca(tmp_path)
    before = tree(store.directory)
    with pytest.raises(BadInputError, match="already holds a CA; refusing to overwrite it"):
        init_ca(store.directory, "Another CA", SECRET, now=NOW)
    store.index_path.unlink()
    store.cert_path.unlink()  # even a damaged CA: its key is still there
    with pytest.raises(BadInputError, match="already holds a CA"):
        init_ca(store.directory, "Another CA", SECRET, now=NOW)
    assert store.key_path.read_bytes() == before["ca.key"]


def test_a_non_empty_directory_or_a_file_is_refused(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("x")
    with pytest.raises(BadInputError, match="is not empty"):
        init_ca(tmp_path / "full", "CA", SECRET)
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInputError, match="is not a directory"):
        init_ca(tmp_path / "file", "CA", SECRET)


def test_an_empty_directory_is_taken_and_closed(tmp_path):
    (tmp_path / "ca").mkdir(mode=0o755)
    init_ca(tmp_path / "ca", "CA", SECRET, now=NOW)
    assert _mode(tmp_path / "ca") == 0o700
    assert open_ca(tmp_path / "ca").crl_number() == 1


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"name": "CA, with a comma"}, "--name"),
        ({"organization": "Ex;ample"}, "--org"),
        ({"algorithm": "rsa"}, "--algorithm 'rsa' is not known"),
        ({"days": 10, "crl_days": 30}, "the CRL's within the CA's"),
        ({"passphrase": Passphrase(b"short")}, "a new CA needs at least 12"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, kwargs, problem):
    arguments = {"name": "CA", "passphrase": SECRET, **kwargs}
    with pytest.raises(BadInputError, match=problem):
        init_ca(tmp_path / "ca", arguments.pop("name"), arguments.pop("passphrase"), **arguments)
    assert not (tmp_path / "ca").exists()


def test_without_an_organization_the_subject_is_the_name_alone(tmp_path):
    assert make_ca(tmp_path, organization=None).certificate().subject.rfc4514_string() == "CN=Unit Test CA"


def test_open_ca_names_what_is_missing(tmp_path):
    with pytest.raises(BadInputError, match=f"CA directory {tmp_path / 'nope'} does not exist") as error:
        open_ca(tmp_path / "nope")
    assert "airgapctl ca init" in error.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match=r"is not a CA directory: ca\.crt is missing"):
        open_ca(tmp_path / "empty")


def test_open_ca_warns_when_the_directory_is_open_to_others(tmp_path, capsys):
    store = make_ca(tmp_path)
    store.directory.chmod(0o755)
    open_ca(store.directory)
    assert f"warning: {store.directory} is open to group or others (mode 0755)" in capsys.readouterr().err
