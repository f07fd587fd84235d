"""Sealing: hashing every file, a canonical manifest, a detached signature; inspect."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest
from jsonschema import Draft202012Validator

from airgapctl.bundle import guess_kind, inspect_bundle, seal_bundle
from airgapctl.bundle.hashing import hash_file, hash_files, list_tree
from airgapctl.bundle.manifest import is_safe_relative_path, parse_manifest
from airgapctl.errors import BadInputError, BundleManifestInvalidError, BundleUnsafeEntryError
from airgapctl.schemas import check_document, load_schema
from tests.unit.test_bundle_support import CREATED, DEFAULT_FILES, make_bundle, make_keys, write_tree


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


def test_manifest_lists_every_file_sorted_with_size_hash_and_kind(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0], expires="2030-01-01", attestation={"run": 7})
    document = json.loads((root / "manifest.json").read_bytes())
    check_document(document, "manifest", "manifest.json")
    assert [f["path"] for f in document["files"]] == sorted(DEFAULT_FILES)
    for entry in document["files"]:
        data = DEFAULT_FILES[entry["path"]]
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    kinds = {f["path"]: f["kind"] for f in document["files"]}
    assert kinds["debs/nginx_1.22_amd64.deb"] == "apt"
    assert kinds["roles/gateway_proxy/tasks/main.yml"] == "role"
    assert kinds["sbom.cdx.json"] == "sbom"
    assert document["expires"] == "2030-01-01T00:00:00Z"
    assert document["created"] == CREATED
    assert document["sbom"] == "sbom.cdx.json"
    assert document["attestation"] == {"run": 7}
    assert (root / "manifest.json.sig").exists()


def test_sealing_twice_gives_the_same_bytes(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    first = (root / "manifest.json").read_bytes()
    seal_bundle(root, "site-a", "1.1", 1, keys[0], guess_kind, created=CREATED, sbom="sbom.cdx.json")
    assert (root / "manifest.json").read_bytes() == first
    assert first == parse_manifest(first, "m").to_bytes()


def test_kinds_mapping_must_name_every_file(tmp_path, keys):
    write_tree(tmp_path / "b", {"a.txt": b"a", "b.txt": b"b"})
    with pytest.raises(BadInputError, match=re.escape("no kind for bundle file b.txt")):
        seal_bundle(tmp_path / "b", "n", "1", 1, keys[0], {"a.txt": "file"})
    with pytest.raises(BadInputError, match="kind 'weird'"):
        seal_bundle(tmp_path / "b", "n", "1", 1, keys[0], lambda path: "weird")
    assert not (tmp_path / "b" / "manifest.json").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("name", "bad name", "/name"),
        ("sequence", 0, "/sequence"),
        ("sbom", "absent.json", "/sbom"),
        ("expires", "2000-01-01", "not after the creation time"),
    ],
)
def test_invalid_seal_options_are_bad_input(tmp_path, keys, option, value, message):
    write_tree(tmp_path / "b", {"a.txt": b"a"})
    arguments = {"name": "n", "version": "1", "sequence": 1, "created": CREATED, option: value}
    with pytest.raises(BadInputError, match=message):
        seal_bundle(tmp_path / "b", private_key_path=keys[0], kinds=guess_kind, **arguments)


def test_seal_refuses_symlinks_and_empty_directories(tmp_path, keys):
    root = write_tree(tmp_path / "b", {"a.txt": b"a"})
    (root / "link").symlink_to("a.txt")
    with pytest.raises(BundleUnsafeEntryError, match="link is a symlink"):
        seal_bundle(root, "n", "1", 1, keys[0], guess_kind)
    (root / "link").unlink()
    (root / "empty").mkdir()
    with pytest.raises(BadInputError, match="empty directory empty"):
        seal_bundle(root, "n", "1", 1, keys[0], guess_kind)


def test_list_tree_names_fifos_and_skips_only_top_level_reserved_names(tmp_path):
    root = write_tree(tmp_path / "b", {"manifest.json": b"{}", "sub/manifest.json": b"{}"})
    assert list(list_tree(root, skip=["manifest.json"]).files) == ["sub/manifest.json"]
    os.mkfifo(root / "sub" / "pipe")
    with pytest.raises(BundleUnsafeEntryError, match="sub/pipe is a fifo"):
        list_tree(root)
    with pytest.raises(BundleUnsafeEntryError, match="not a regular file"):
        hash_file(root / "sub" / "pipe")  # swapped in after listing: refused, without blocking


def test_parallel_hashing_matches_sequential_hashing(tmp_path):
    files = {f"d{i % 7}/f{i}.bin": os.urandom(1000 + i * 37) for i in range(60)}
    files["big.bin"] = os.urandom(3 << 20)
    root = write_tree(tmp_path / "b", files)
    sizes = list_tree(root).files
    parallel = hash_files(root, sizes, workers=2)
    assert parallel == hash_files(root, sizes, workers=1)
    assert parallel["big.bin"].sha256 == hashlib.sha256(files["big.bin"]).hexdigest()
    assert hash_file(root / "big.bin").size == 3 << 20


def test_parse_refuses_duplicate_keys_unsorted_and_unsafe_paths(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    document = json.loads((root / "manifest.json").read_bytes())
    with pytest.raises(BundleManifestInvalidError, match="duplicate key"):
        parse_manifest(b'{"name": "a", "name": "b"}', "m")
    document["files"].reverse()
    with pytest.raises(BundleManifestInvalidError, match="out of order"):
        parse_manifest(json.dumps(document).encode(), "m")
    document["files"] = [dict(document["files"][0], path="../escape")]
    document["sbom"] = None
    with pytest.raises(BundleManifestInvalidError, match="/files/0/path"):
        parse_manifest(json.dumps(document).encode(), "m")


def test_inspect_reports_the_claims_without_verifying(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0], sequence=4)
    summary = inspect_bundle(root)
    assert (summary.name, summary.sequence, summary.files) == ("site-a", 4, len(DEFAULT_FILES))
    assert summary.total_bytes == sum(map(len, DEFAULT_FILES.values()))
    assert summary.files_by_kind["apt"] == 1
    assert summary.signature_present and not summary.signature_checked


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("a/b.txt", True),
        ("a..b/c", True),
        (".hidden", True),
        ("/abs", False),
        ("a//b", False),
        ("a/./b", False),
        ("a/../b", False),
        ("..", False),
        ("a/", False),
        ("a\\b", False),
        ("a\x00b", False),
    ],
)
def test_schema_path_pattern_and_code_agree(path, safe):
    path_schema = {"$defs": load_schema("manifest")["$defs"], "$ref": "#/$defs/path"}
    assert Draft202012Validator(path_schema).is_valid(path) is safe
    assert is_safe_relative_path(path) is safe
