"""Data packages: exported only from declared, non-secret files; imported only through the trust core."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airgapctl.bundle import trust, verify_bundle, verify_ledger
from airgapctl.errors import AirgapError, BadInputError, ExitCode
from airgapctl.sync import package as package_module
from airgapctl.sync import sources as sources_module
from airgapctl.sync.package import export_package, import_package
from airgapctl.sync.sources import Source, load_source_list, parse_include
from tests.rejection_cases import Layout, cases_for
from tests.unit.test_bundle_support import make_keys, tree_snapshot, write_tree

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SITE = "site-a"
# What a site sends out; the audit report is the probe the shared rejection cases reach into.
SOURCE_FILES = {
    "report.json": b'{"findings":0}\n',
    "ledger.jsonl": b'{"entry":1}\n' * 3,
    "logs/summary.txt": b"requests: 1200\nrefused: 3\n",
    "logs/daily/2026-06-01.txt": b"quiet day\n",
}
PACKAGE = Layout(probe="audit/report.json", probe_size=15, extra_dir="audit", link_dir="logs",
                 fifo_dir="ledger", kind="package")  # fmt: skip
CASES = cases_for(PACKAGE)


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


@pytest.fixture
def sources(tmp_path):
    root = write_tree(tmp_path / "site-data", SOURCE_FILES)
    return [
        Source("audit/report.json", root / "report.json"),
        Source("ledger/ledger.jsonl", root / "ledger.jsonl"),
        Source("logs", root / "logs"),
    ]


@pytest.fixture
def receiver(tmp_path, keys, sources):
    """The other side, which already imported the site's package of sequence 1: its state and ledger."""
    state, ledger = tmp_path / "received" / "state", tmp_path / "received" / "ledger.jsonl"
    first = export_package(tmp_path / "p1", sources, keys[0], SITE, now=NOW, sequence=1)
    import_package(first.out_dir, keys[1], tmp_path / "d1", ledger_path=ledger, state_dir=state)
    return state, ledger


def _entries(ledger: Path) -> list[dict]:
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def _leftovers(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".partial"))


def test_round_trip_gives_the_same_bytes(tmp_path, keys, sources):
    exported = export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW, sequence=7)
    assert exported.files == (
        "audit/report.json", "ledger/ledger.jsonl", "logs/daily/2026-06-01.txt", "logs/summary.txt"
    )  # fmt: skip
    assert (exported.site, exported.sequence, exported.version) == (SITE, 7, "20260601T120000Z")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["kind"] == "package" and {entry["kind"] for entry in manifest["files"]} == {"file"}
    imported = import_package(tmp_path / "out", keys[1], tmp_path / "dest")
    assert tree_snapshot(tmp_path / "dest") == tree_snapshot(tmp_path / "out")
    for name, data in SOURCE_FILES.items():
        inside = {"report.json": "audit/report.json", "ledger.jsonl": "ledger/ledger.jsonl"}.get(name, name)
        assert (tmp_path / "dest" / inside).read_bytes() == data
    assert imported.manifest_sha256 == exported.manifest_sha256 and imported.files == 4
    assert imported.warnings == ("sequence not checked: no state directory given",)
    assert _leftovers(tmp_path) == []


def test_the_sequence_defaults_to_the_time_so_later_exports_are_newer(tmp_path, keys, sources):
    exported = export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW)
    assert exported.sequence == int(NOW.timestamp())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_tampering_class_is_refused_on_import(tmp_path, keys, sources, receiver, case):
    state, ledger = receiver
    root = Path(export_package(tmp_path / "p2", sources, keys[0], SITE, now=NOW, sequence=2).out_dir)
    case.mutate(root, keys[0])
    state_before, entries_before = (state / "accepted.json").read_bytes(), _entries(ledger)
    with pytest.raises(AirgapError) as error:
        import_package(root, keys[1], tmp_path / "dest", ledger_path=ledger, state_dir=state,
                       expected_site=case.expect_name)  # fmt: skip
    assert error.value.exit_code == case.code
    assert case.message in error.value.message and "\n" not in error.value.message
    assert not (tmp_path / "dest").exists() and _leftovers(tmp_path) == []
    assert (state / "accepted.json").read_bytes() == state_before
    entries = _entries(ledger)
    assert entries[:-1] == entries_before
    assert entries[-1]["result"] == "rejected" and entries[-1]["exit_code"] == case.code
    assert entries[-1]["reason"] == error.value.message


def test_a_bundle_verifier_refuses_a_package(tmp_path, keys, sources):
    root = export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW, sequence=1).out_dir
    with pytest.raises(AirgapError) as error:
        verify_bundle(Path(root), keys[1])
    assert error.value.exit_code == ExitCode.BUNDLE_MANIFEST_INVALID
    assert "site-a is a data package, not a bundle" in error.value.message


def test_a_package_signed_by_another_key_is_refused(tmp_path, keys, sources):
    other = make_keys(tmp_path / "other", "other")
    root = export_package(tmp_path / "out", sources, other[0], SITE, now=NOW, sequence=1).out_dir
    with pytest.raises(AirgapError) as error:
        import_package(root, keys[1], tmp_path / "dest")
    assert error.value.exit_code == ExitCode.BUNDLE_SIGNATURE and not (tmp_path / "dest").exists()


def test_a_file_swapped_after_verification_is_caught_in_the_copy(tmp_path, keys, sources, monkeypatch):
    root = Path(export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW, sequence=1).out_dir)
    original = package_module._copy

    def swap_then_copy(source, target, limit=None):
        if Path(source) == root / "audit" / "report.json":
            Path(source).write_bytes(b'{"findings":9}\n')  # same size, after the trust core hashed it
        original(source, target, limit)

    monkeypatch.setattr(package_module, "_copy", swap_then_copy)
    with pytest.raises(AirgapError) as error:
        import_package(root, keys[1], tmp_path / "dest", ledger_path=tmp_path / "ledger.jsonl")
    assert error.value.exit_code == ExitCode.BUNDLE_FILE_ALTERED
    assert "file altered: audit/report.json" in error.value.message
    assert not (tmp_path / "dest").exists() and _leftovers(tmp_path) == []
    assert _entries(tmp_path / "ledger.jsonl")[-1]["result"] == "rejected"


@pytest.mark.parametrize("directory", ["secrets", "vault", "credentials", ".ssh"])
def test_a_file_below_a_secret_directory_is_refused(tmp_path, keys, directory):
    secret = write_tree(tmp_path / "etc" / directory, {"token.txt": b"abc\n"}) / "token.txt"
    with pytest.raises(BadInputError, match=f"may hold secrets: it is below a '{directory}' directory"):
        export_package(tmp_path / "out", [Source("token.txt", secret)], keys[0], SITE, now=NOW)
    assert not (tmp_path / "out").exists()


def test_the_credentials_directory_is_refused_also_through_a_linked_parent(tmp_path, keys, monkeypatch):
    credentials = write_tree(tmp_path / "airgap-creds", {"pets.conf": b"proxy_set_header x y;\n"})
    monkeypatch.setattr(sources_module, "CREDENTIALS_DIR", credentials)
    (tmp_path / "innocent").symlink_to(credentials)
    with pytest.raises(BadInputError, match="below the credentials directory"):
        export_package(tmp_path / "out", [Source("pets.conf", tmp_path / "innocent" / "pets.conf")],
                       keys[0], SITE, now=NOW)  # fmt: skip


@pytest.mark.parametrize(
    ("content", "marker"),
    [(b"value: !vault |\n  $ANSIBLE_VAULT;1.2;AES256;airgap\n  3031\n", "$ANSIBLE_VAULT;"),
     (b"x" * ((1 << 20) - 5) + b"-----BEGIN PRIVATE KEY-----\n", "PRIVATE KEY-----")],
)  # fmt: skip
def test_a_file_holding_a_secret_is_refused_and_nothing_is_left(tmp_path, keys, sources, content, marker):
    leak = write_tree(tmp_path / "data", {"notes.txt": content}) / "notes.txt"
    with pytest.raises(BadInputError, match=re.escape(f"holds a secret ({marker!r} found)")):
        export_package(tmp_path / "out", [*sources, Source("notes.txt", leak)], keys[0], SITE, now=NOW)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_the_signing_key_itself_is_refused(tmp_path, keys):
    with pytest.raises(BadInputError, match="holds a secret"):
        export_package(tmp_path / "out", [Source("site.key", keys[0])], keys[0], SITE, now=NOW)


def test_links_and_special_files_are_refused(tmp_path, keys, sources):
    (tmp_path / "link.json").symlink_to(sources[0].path)
    with pytest.raises(BadInputError, match="is a symlink; refusing to follow it"):
        export_package(tmp_path / "out", [Source("a.json", tmp_path / "link.json")], keys[0], SITE, now=NOW)
    (sources[2].path / "current").symlink_to(sources[2].path / "summary.txt")
    with pytest.raises(BadInputError, match=r"logs: .*current is a symlink"):
        export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(BadInputError, match="is not a regular file or directory"):
        export_package(tmp_path / "out", [Source("pipe", tmp_path / "pipe")], keys[0], SITE, now=NOW)


def test_a_failed_export_leaves_no_half_package(tmp_path, keys, sources, monkeypatch):
    def seal_then_fail(root, *args, **kwargs):
        (Path(root) / "manifest.json").write_text("{}")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(package_module, "seal_bundle", seal_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW, ledger_path=tmp_path / "ledger.jsonl")
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []
    assert not (tmp_path / "ledger.jsonl").exists() or _entries(tmp_path / "ledger.jsonl") == []


def test_an_export_into_a_non_empty_directory_is_refused(tmp_path, keys, sources):
    write_tree(tmp_path / "out", {"old.txt": b"x"})
    with pytest.raises(BadInputError, match="exists and is not an empty directory"):
        export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW)
    assert sorted(os.listdir(tmp_path / "out")) == ["old.txt"]


def test_the_ledger_records_the_export_and_the_import(tmp_path, keys, sources):
    ledger = tmp_path / "ledger.jsonl"
    exported = export_package(tmp_path / "out", sources, keys[0], SITE, now=NOW, sequence=3, ledger_path=ledger)
    import_package(tmp_path / "out", keys[1], tmp_path / "dest", ledger_path=ledger, state_dir=tmp_path / "state")
    first, second = _entries(ledger)
    assert first["result"] == "exported" and first["source"] == str(tmp_path / "out")
    assert (first["bundle"], first["sequence"], first["exit_code"]) == (SITE, 3, 0)
    assert first["manifest_sha256"] == exported.manifest_sha256
    assert first["reason"] == "data package exported: 4 files, 87 bytes"
    assert second["result"] == "accepted" and second["manifest_sha256"] == exported.manifest_sha256
    report = verify_ledger(ledger)
    assert (report.entries, report.exported, report.accepted, report.rejected) == (2, 1, 1, 0)


def test_a_replayed_package_is_refused_with_a_state_directory(tmp_path, keys, sources, receiver):
    state, ledger = receiver
    again = export_package(tmp_path / "again", sources, keys[0], SITE, now=NOW, sequence=1).out_dir
    with pytest.raises(AirgapError) as error:
        import_package(again, keys[1], tmp_path / "dest", ledger_path=ledger, state_dir=state)
    assert error.value.exit_code == trust.ROLLBACK


def test_the_declared_list_from_options_and_from_a_file(tmp_path):
    assert parse_include("audit/r.json=/var/r.json") == Source("audit/r.json", Path("/var/r.json"))
    for bad in ("no-equals", "=x", "../up=x", "manifest.json=x"):
        with pytest.raises(BadInputError):
            parse_include(bad)
    listing = tmp_path / "export.yml"
    listing.write_text("- name: audit/report.json\n  path: reports/latest.json\n")
    assert load_source_list(listing) == [Source("audit/report.json", tmp_path / "reports/latest.json")]
    listing.write_text("audit: reports/latest.json\n")
    with pytest.raises(BadInputError, match="is not a non-empty list"):
        load_source_list(listing)
    listing.write_text("- name: a\n  path: b\n  mode: 0600\n")
    with pytest.raises(BadInputError, match="item 1 is not a mapping of name and path"):
        load_source_list(listing)


def test_one_path_declared_twice_or_below_a_file_is_refused(tmp_path, keys, sources):
    with pytest.raises(BadInputError, match="declared twice"):
        export_package(tmp_path / "out", [sources[0], sources[0]], keys[0], SITE, now=NOW)
    below = Source("audit/report.json/x", sources[1].path)
    with pytest.raises(BadInputError, match=re.escape("lies below audit/report.json, a file")):
        export_package(tmp_path / "out", [sources[0], below], keys[0], SITE, now=NOW)
    with pytest.raises(BadInputError, match="nothing to export"):
        export_package(tmp_path / "out", [], keys[0], SITE, now=NOW)
