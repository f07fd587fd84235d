"""Ed25519 key pairs, key ids and detached signatures."""

from __future__ import annotations

import base64
import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from airgapctl.bundle.keys import (
    generate_keypair,
    key_fingerprint,
    load_private_key,
    load_public_key,
    read_signature_file,
    sign_detached,
    verify_detached,
)
from airgapctl.errors import BadInputError, BundleSignatureError, ExitCode


def test_generate_writes_private_0600_pkcs8_and_public_pem(tmp_path):
    pair = generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    private_text = (tmp_path / "k").read_text()
    assert private_text.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o600
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    public = load_public_key(tmp_path / "k.pub")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert pair.key_id == key_fingerprint(public) == hashlib.sha256(raw).hexdigest()


def test_generate_refuses_to_overwrite_either_file(tmp_path):
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    before = (tmp_path / "k").read_bytes()
    with pytest.raises(BadInputError, match="already exists"):
        generate_keypair(tmp_path / "k", tmp_path / "other.pub")
    with pytest.raises(BadInputError, match="already exists"):
        generate_keypair(tmp_path / "other", tmp_path / "k.pub")
    assert (tmp_path / "k").read_bytes() == before
    assert not (tmp_path / "other").exists()


def test_private_key_readable_by_others_is_refused(tmp_path):
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    os.chmod(tmp_path / "k", 0o644)
    with pytest.raises(BadInputError, match="readable by group or others"):
        load_private_key(tmp_path / "k")


def test_a_public_key_is_not_a_private_key(tmp_path):
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    os.chmod(tmp_path / "k.pub", 0o600)
    with pytest.raises(BadInputError, match="not an unencrypted PEM private key"):
        load_private_key(tmp_path / "k.pub")


def test_signature_file_is_one_base64_line_of_64_bytes(tmp_path):
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    content = sign_detached(load_private_key(tmp_path / "k"), b"data")
    assert content.endswith(b"\n") and content.count(b"\n") == 1
    assert len(base64.b64decode(content)) == 64
    (tmp_path / "s.sig").write_bytes(content)
    signature = read_signature_file(tmp_path / "s.sig", "test")
    verify_detached(load_public_key(tmp_path / "k.pub"), b"data", signature, "test")
    with pytest.raises(BundleSignatureError) as error:
        verify_detached(load_public_key(tmp_path / "k.pub"), b"other", signature, "test")
    assert error.value.exit_code == ExitCode.BUNDLE_SIGNATURE == 10


@pytest.mark.parametrize("content", [b"", b"not base64\n", base64.b64encode(b"x" * 63) + b"\n", b"\x00" * 64])
def test_malformed_signature_files_are_signature_failures(tmp_path, content):
    (tmp_path / "s.sig").write_bytes(content)
    with pytest.raises(BundleSignatureError, match="not one line of base64"):
        read_signature_file(tmp_path / "s.sig", "test")


def test_missing_signature_file_is_a_signature_failure(tmp_path):
    with pytest.raises(BundleSignatureError, match="missing"):
        read_signature_file(tmp_path / "absent.sig", "test")
