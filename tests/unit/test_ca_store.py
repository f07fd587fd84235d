"""The CA directory's file handling and its listing: atomic and new-only writes, the lock, list states."""

from __future__ import annotations

import datetime as dt
import stat

import pytest

from airgapctl.ca import issue_client, list_certificates, revoke
from airgapctl.ca.files import exclusive, write_atomic, write_new
from airgapctl.errors import AirgapError, BadInputError
from tests.unit.ca_support import NOW, SECRET, make_ca


def test_write_atomic_replaces_with_the_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "index.json"
    path.write_text("old")
    path.chmod(0o644)
    write_atomic(path, b"new", 0o600)
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_write_new_never_replaces(tmp_path):
    path = tmp_path / "a.key"
    write_new(path, b"first", 0o600)
    with pytest.raises(BadInputError, match="already exists; refusing to overwrite it"):
        write_new(path, b"second", 0o600)
    assert path.read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == ["a.key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_one_command_at_a_time_changes_a_ca(tmp_path):
    store = make_ca(tmp_path)
    busy = pytest.raises(AirgapError, match="is in use by another 'airgapctl ca' command")
    with exclusive(store.directory), busy:
        issue_client(store, SECRET, "alice", tmp_path / "c", now=NOW)
    issue_client(store, SECRET, "alice", tmp_path / "c", now=NOW)


def test_the_listing_says_valid_revoked_or_expired(tmp_path):
    store = make_ca(tmp_path)
    issue_client(store, SECRET, "alice", tmp_path / "c", now=NOW)
    issue_client(store, SECRET, "bob", tmp_path / "c", now=NOW)
    issue_client(store, SECRET, "carol", tmp_path / "c", days=1, now=NOW)
    revoke(store, SECRET, "bob", now=NOW)
    listed = list_certificates(store, now=NOW + dt.timedelta(days=2))
    assert {r.name: listed.state(r) for r in listed.certificates} == {
        "alice": "valid",
        "bob": "revoked",
        "carol": "expired",
    }
    assert listed.ca_subject == "CN=Unit Test CA,O=Example"
    assert list_certificates(store, now=NOW).expired == []
