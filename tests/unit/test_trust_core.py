"""The trust core exists once: stdlib-only, its appliance copy current, its manifest rules the schema's."""

from __future__ import annotations

import ast
import copy
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airgapctl.bundle import trust
from airgapctl.errors import ExitCode
from airgapctl.schemas import validator
from tests.unit.test_bundle_support import make_bundle, make_keys

REPO = Path(__file__).parents[2]
SOURCE = REPO / "airgapctl" / "bundle" / "trust"
COPY = REPO / "roles" / "airgap_repo" / "module_utils" / "airgap_trust"


def stale_copy(source: Path, copy: Path) -> str | None:
    """Why the package ``copy`` is not a current copy of ``source``, or None."""
    wanted = sorted(p.name for p in source.glob("*.py"))
    found = sorted(p.name for p in copy.glob("*.py")) if copy.is_dir() and not copy.is_symlink() else []
    if found != wanted:
        return f"{copy} holds {found}, not {wanted}: run make module-utils"
    for name in wanted:
        if (copy / name).is_symlink():
            return f"{copy / name} must be a regular file (the toolkit drops links): run make module-utils"
        if (copy / name).read_bytes() != (source / name).read_bytes():
            return f"{copy / name} is stale: run make module-utils"
    return None


def test_the_appliance_copy_is_byte_identical():
    assert stale_copy(SOURCE, COPY) is None


def test_the_copy_check_fails_on_a_stale_copy_a_missing_file_or_a_link(tmp_path):
    stale = tmp_path / "stale"
    shutil.copytree(SOURCE, stale, ignore=shutil.ignore_patterns("__pycache__"))
    codes = stale / "codes.py"
    codes.write_bytes(codes.read_bytes().replace(b"ROLLBACK = 14", b"ROLLBACK = 41"))
    assert "codes.py is stale" in stale_copy(SOURCE, stale)
    codes.unlink()
    assert "run make module-utils" in stale_copy(SOURCE, stale)
    codes.symlink_to(SOURCE / "codes.py")
    assert "regular file" in stale_copy(SOURCE, stale)


def test_the_core_imports_only_the_standard_library_and_itself_relatively():
    imported = set()
    for source in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add((node.module or "").split(".")[0])
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported


def test_exit_codes_are_the_cores():
    for name, value in ExitCode.__members__.items():
        core = name.removeprefix("BUNDLE_")
        if hasattr(trust, core) and isinstance(getattr(trust, core), int):
            assert value == getattr(trust, core), name


@pytest.fixture(scope="module")
def good_document(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bundle")
    private, _ = make_keys(root / "keys")
    make_bundle(root / "b", private, expires="2030-01-01T00:00:00Z")
    return json.loads((root / "b" / "manifest.json").read_text())


def _variants(good: dict) -> list[tuple[str, dict]]:
    """Documents the schema decides on alone (no rule beyond it): each must get the same verdict."""
    out = [("good", good)]
    for key, value in [
        ("schema", "other"),
        ("schema_version", 2),
        ("schema_version", True),
        ("name", ""),
        ("name", "-lead"),
        ("name", "a" * 129),
        ("version", "1 0"),
        ("sequence", 0),
        ("sequence", 1 << 63),
        ("sequence", True),
        ("created", "2025-01-01 00:00:00"),
        ("expires", None),
        ("expires", "2025-01-01T00:00:00+00:00"),
        ("key_id", "A" * 64),
        ("files", "x"),
        ("attestation", []),
        ("attestation", {"any": "thing"}),
        ("sbom", None),
        ("sbom", []),
        ("sbom", {}),
        ("version", 1),
        ("key_id", None),
        ("extra", 1),
    ]:
        out.append((f"{key}={value!r}", {**good, key: value}))
    for key in ("name", "files", "sbom", "attestation", "expires"):
        out.append((f"without {key}", {k: v for k, v in good.items() if k != key}))
    for key, value in [("size", -1), ("size", 1.5), ("sha256", "x"), ("kind", "other"), ("path", "a//b"),
                       ("path", "a/./b"), ("path", "a\\b"), ("path", "a/"), ("path", "")]:  # fmt: skip
        document = copy.deepcopy(good)
        document["files"][0][key] = value
        out.append((f"files[0].{key}={value!r}", document))
    return out


def test_the_cores_manifest_check_agrees_with_the_schema(good_document):
    schema = validator("manifest")
    for label, document in _variants(good_document):
        by_schema = schema.is_valid(document)
        try:
            trust.check_manifest(document, "manifest.json")
            by_core = True
        except trust.TrustError as error:
            assert error.code == trust.MANIFEST_INVALID and "\n" not in error.message
            by_core = False
        assert by_core == by_schema, f"{label}: schema says {by_schema}, the trust core says {by_core}"


def test_the_core_is_stricter_than_json_schema_only_where_json_schema_is_loose(good_document):
    # JSON Schema counts 2.0 as an integer, and Python's '$' matches before a final newline; a
    # sequence or size written as a float, a name ending in a newline, or a path holding a lone
    # surrogate (no file name a manifest can list) is not ours.
    first = good_document["files"][0]
    for document in (
        {**good_document, "name": "site-a\n"},
        {**good_document, "key_id": good_document["key_id"] + "\n"},
        {**good_document, "files": [{**first, "path": "zz\ud800"}]},
    ):
        assert validator("manifest").is_valid(document)
        with pytest.raises(trust.TrustError):
            trust.check_manifest(document, "manifest.json")
    for document in (
        {**good_document, "sequence": 2.0},
        {**good_document, "files": [{**good_document["files"][0], "size": 2500.0}, *good_document["files"][1:]]},
    ):
        assert validator("manifest").is_valid(document)
        with pytest.raises(trust.TrustError):
            trust.check_manifest(document, "manifest.json")


def test_malformed_times_are_refused_not_crashed_on(good_document):
    for value in ("2026-13-45T00:00:00Z", "2026-02-30T00:00:00Z", 20260101):
        with pytest.raises(trust.TrustError) as error:
            trust.check_manifest({**good_document, "expires": value}, "manifest.json")
        assert error.value.code == trust.MANIFEST_INVALID and "/expires" in error.value.message


def test_a_cut_ledger_line_refuses_the_next_append(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    trust.append_attempt(ledger, trust.new_attempt("x"), "rejected", "r", 10, "2026-01-01T00:00:00Z")
    ledger.write_bytes(ledger.read_bytes()[:-5])
    with pytest.raises(trust.TrustError) as error:
        trust.append_attempt(ledger, trust.new_attempt("x"), "rejected", "r", 10, "2026-01-01T00:00:00Z")
    assert error.value.code == trust.LEDGER_BROKEN and "line 1 is incomplete" in error.value.message


def _entries(ledger: Path) -> list[dict]:
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def _append(ledger: Path) -> None:
    trust.append_attempt(ledger, trust.new_attempt("x"), "rejected", "r", 10, "2026-01-01T00:00:00Z")


@pytest.mark.parametrize("damage", ["last line removed", "head removed", "line edited", "lines added"])
def test_an_append_never_covers_damage_the_head_file_reveals(tmp_path, damage):
    ledger = tmp_path / "ledger.jsonl"
    for _ in range(3):
        _append(ledger)
    lines = ledger.read_bytes().splitlines(keepends=True)
    if damage == "last line removed":
        ledger.write_bytes(b"".join(lines[:-1]))
    elif damage == "head removed":
        Path(f"{ledger}.head").unlink()
    elif damage == "line edited":
        ledger.write_bytes(b"".join([*lines[:-1], lines[-1].replace(b'"r"', b'"s"')]))
    else:
        ledger.write_bytes(b"".join([*lines, lines[-1], lines[-1]]))
    damaged = (ledger.read_bytes(), Path(f"{ledger}.head").read_bytes() if damage != "head removed" else None)
    for call in (lambda: trust.check_appendable(ledger), lambda: _append(ledger)):
        with pytest.raises(trust.TrustError) as error:
            call()
        assert error.value.code == trust.LEDGER_BROKEN
    head = Path(f"{ledger}.head")
    assert (ledger.read_bytes(), head.read_bytes() if head.exists() else None) == damaged


def test_one_line_past_the_head_is_a_cut_short_append_and_still_appendable(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    _append(ledger)
    head = Path(f"{ledger}.head").read_bytes()
    _append(ledger)
    Path(f"{ledger}.head").write_bytes(head)  # the second append's head update never happened
    _append(ledger)
    assert [entry["entry"] for entry in _entries(ledger)] == [1, 2, 3]


@pytest.fixture
def sealed(tmp_path) -> tuple[Path, Path]:
    private, public = make_keys(tmp_path / "keys")
    return make_bundle(tmp_path / "b", private), public


def _ok(raw_key, data, signature) -> bool:
    from airgapctl.bundle.keys import signature_ok

    return signature_ok(raw_key, data, signature)


def test_the_ledger_records_an_acceptance_before_the_state_moves(tmp_path, sealed, monkeypatch):
    root, public = sealed
    state, ledger = tmp_path / "state", tmp_path / "ledger.jsonl"

    def refuse(*_):
        raise trust.TrustError(trust.ENVIRONMENT, "cannot write the state file: disk full")

    monkeypatch.setattr(trust.records, "write_accepted", refuse)
    with pytest.raises(trust.TrustError, match="disk full"):
        trust.verify(str(root), public, _ok, datetime.now(UTC), state_dir=state, ledger=ledger)
    assert [e["result"] for e in _entries(ledger)] == ["accepted", "rejected"]
    assert _entries(ledger)[-1]["exit_code"] == trust.ENVIRONMENT
    assert not (state / "accepted.json").exists()


def test_a_check_that_records_nothing_writes_nothing_and_still_refuses_a_replay(tmp_path, sealed):
    root, public = sealed
    fresh = tmp_path / "fresh-state"
    trust.verify(str(root), public, _ok, datetime.now(UTC), state_dir=fresh, ledger=tmp_path / "l", commit=False)
    assert not fresh.exists() and not (tmp_path / "l").exists()
    state = tmp_path / "state"
    trust.verify(str(root), public, _ok, datetime.now(UTC), state_dir=state)
    before = sorted(p.name for p in state.iterdir()), (state / "accepted.json").read_bytes()
    with pytest.raises(trust.TrustError) as error:
        trust.verify(str(root), public, _ok, datetime.now(UTC), state_dir=state, commit=False)
    assert error.value.code == trust.ROLLBACK
    assert (sorted(p.name for p in state.iterdir()), (state / "accepted.json").read_bytes()) == before
