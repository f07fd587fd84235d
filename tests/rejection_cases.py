"""The rejection classes of a whole bundle, as data: one mutation of a good bundle per case.

Every case turns a bundle that would be accepted (sequence 2 of ``site-a``, after a site
accepted sequence 1) into one that must be refused with ``code``, and a message containing
``message``. airgapctl's ``bundle verify`` and the appliance's Ansible module both run them
(tests/unit/test_bundle_verify.py, tests/integration/test_trust_front_ends.py) and must give
the same exit code and ledger entry for each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle import trust
from airgapctl.bundle.keys import load_private_key, sign_detached

ORDERS = "specs/orders.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path, Path], None]
    code: int
    message: str
    # The bundle name the verifier is told to take (bundle verify --expect-name, the module's name).
    expect_name: str | None = None


def _document(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def resign(root: Path, private: Path, document: dict | None = None, data: bytes | None = None) -> None:
    """Sign ``document`` (or raw ``data``) as the bundle's manifest with the site's key."""
    if data is None:
        data = (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()
    (root / "manifest.json").write_bytes(data)
    (root / "manifest.json.sig").write_bytes(sign_detached(load_private_key(private), data))


def _edited(**changes) -> Callable[[Path, Path], None]:
    def mutate(root: Path, private: Path) -> None:
        resign(root, private, {**_document(root), **changes})

    return mutate


def _remove(root, _):
    (root / ORDERS).unlink()


def _add_extra(root, _):
    (root / "roles" / "extra").mkdir()
    (root / "roles" / "extra" / "x.yml").write_text("x")


def _add_empty_dir(root, _):
    (root / "newdir").mkdir()


def _undecodable_name(root, _):
    (root / os.fsdecode(b"\xffbad.bin")).write_bytes(b"x")


def _grow(root, _):
    with open(root / ORDERS, "ab") as handle:
        handle.write(b"#")


def _flip_byte(root, _):
    data = bytearray((root / ORDERS).read_bytes())
    data[0] ^= 1
    (root / ORDERS).write_bytes(bytes(data))


def _symlink_file(root, _):
    (root / ORDERS).unlink()
    (root / ORDERS).symlink_to("/etc/hostname")


def _symlink_dir(root, _):
    (root / "specs" / "etc").symlink_to("/etc")


def _fifo(root, _):
    os.mkfifo(root / "debs" / "pipe")


def _symlink_manifest(root, _):
    (root / "manifest.json").rename(root.parent / f"{root.name}-elsewhere.json")
    (root / "manifest.json").symlink_to(root.parent / f"{root.name}-elsewhere.json")


def _fifo_manifest(root, _):
    (root / "manifest.json").unlink()
    os.mkfifo(root / "manifest.json")  # opening it must not hang the verifier


def _no_manifest(root, _):
    (root / "manifest.json").unlink()


def _tamper_manifest(root, _):
    text = (root / "manifest.json").read_text()
    (root / "manifest.json").write_text(text.replace('"size": 15', '"size": 16'))
    _grow(root, _)  # the manifest now matches the altered file, but its signature does not


def _drop_signature(root, _):
    (root / "manifest.json.sig").unlink()
    _add_extra(root, _)  # nothing unsigned is trusted: the signature is reported, not the extra file


def _garbled_signature(root, _):
    (root / "manifest.json.sig").write_text("not base64!\n")


def _files_edited(edit: Callable[[list], None]) -> Callable[[Path, Path], None]:
    def mutate(root: Path, private: Path) -> None:
        document = _document(root)
        edit(document["files"])
        resign(root, private, document)

    return mutate


def _escape(files):
    files[0]["path"] = "../escape.deb"


def _absolute(files):
    files[0]["path"] = "/etc/passwd"


def _reserved(files):
    files.append({"path": "manifest.json.sig", "size": 1, "sha256": "0" * 64, "kind": "meta"})
    files.sort(key=lambda entry: entry["path"])


def _unordered(files):
    files.reverse()


def _twice(files):
    files.insert(1, dict(files[0]))


def _string_size(files):
    files[0]["size"] = str(files[0]["size"])


def _unknown_kind(files):
    files[0]["kind"] = "binary"


def _duplicate_keys(root, private):
    data = (root / "manifest.json").read_bytes().replace(b'"name": "site-a"', b'"name": "site-a", "name": "site-b"')
    resign(root, private, data=data)


def _signed_not_json(root, private):
    resign(root, private, data=b"{not json\n")


def _surrogate_path(files):
    files.append({"path": "zz\ud800", "size": 1, "sha256": "0" * 64, "kind": "file"})


def _claims_control_characters(root, _):
    # Unsigned text must not reach a one-line message: the signature fails, the claim is not shown.
    document = _document(root)
    document["key_id"] = "\n\x1b[2Jx"
    (root / "manifest.json").write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")


def _untouched(root, _):
    pass


def _expired(root, private):
    resign(root, private, {**_document(root), "expires": "2025-06-01T00:00:00Z"})


CASES = [
    Case("missing file", _remove, trust.FILE_MISSING, f"file missing: {ORDERS}"),
    Case("extra file", _add_extra, trust.FILE_EXTRA, "file not in the manifest: roles/extra/x.yml"),
    Case("empty directory", _add_empty_dir, trust.FILE_EXTRA, "file not in the manifest: newdir/"),
    Case("undecodable name", _undecodable_name, trust.FILE_EXTRA, "file not in the manifest: "),
    Case("grown file", _grow, trust.FILE_ALTERED, f"file altered: {ORDERS}: 16 bytes, the manifest says 15"),
    Case("flipped byte", _flip_byte, trust.FILE_ALTERED, f"file altered: {ORDERS}: sha256 expected"),
    Case("symlinked file", _symlink_file, trust.UNSAFE_ENTRY, f"{ORDERS} is a symlink"),
    Case("symlinked directory", _symlink_dir, trust.UNSAFE_ENTRY, "specs/etc is a symlink"),
    Case("fifo", _fifo, trust.UNSAFE_ENTRY, "debs/pipe is a fifo"),
    Case("symlinked manifest", _symlink_manifest, trust.UNSAFE_ENTRY, "manifest.json is a symlink"),
    Case("fifo manifest", _fifo_manifest, trust.UNSAFE_ENTRY, "manifest.json is not a regular file"),
    Case("no manifest", _no_manifest, trust.SIGNATURE, "nothing in this directory is signed"),
    Case("tampered manifest", _tamper_manifest, trust.SIGNATURE, "signature does not verify"),
    Case("no signature", _drop_signature, trust.SIGNATURE, "manifest.json.sig is missing"),
    Case("garbled signature", _garbled_signature, trust.SIGNATURE, "is not one line of base64"),
    Case("misstated signer", _edited(key_id="0" * 64), trust.SIGNATURE, "names key 000000000000"),
    Case("claimed key unprintable", _claims_control_characters, trust.SIGNATURE, "the manifest claims key ?,"),
    Case("unknown field", _edited(unexpected=True), trust.MANIFEST_INVALID, "unknown key 'unexpected'"),
    Case("sequence as text", _edited(sequence="2"), trust.MANIFEST_INVALID, "/sequence"),
    Case("sequence zero", _edited(sequence=0), trust.MANIFEST_INVALID, "/sequence"),
    Case("malformed expiry", _edited(expires="2026-13-45T00:00:00Z"), trust.MANIFEST_INVALID, "/expires"),
    Case("expiry not a time", _edited(expires="tomorrow"), trust.MANIFEST_INVALID, "/expires"),
    Case("files not a list", _edited(files={}), trust.MANIFEST_INVALID, "/files: is not an array"),
    Case("name unsafe", _edited(name="../site-a"), trust.MANIFEST_INVALID, "/name"),
    Case("sbom not listed", _edited(sbom="elsewhere.json"), trust.MANIFEST_INVALID, "/sbom"),
    Case("sbom not a path", _edited(sbom=[]), trust.MANIFEST_INVALID, "/sbom"),
    Case("path escapes", _files_edited(_escape), trust.MANIFEST_INVALID, "'../escape.deb' is not allowed"),
    Case("absolute path", _files_edited(_absolute), trust.MANIFEST_INVALID, "'/etc/passwd' is not allowed"),
    Case("reserved name", _files_edited(_reserved), trust.MANIFEST_INVALID, "'manifest.json.sig' is not allowed"),
    Case("files out of order", _files_edited(_unordered), trust.MANIFEST_INVALID, "is out of order"),
    Case("file listed twice", _files_edited(_twice), trust.MANIFEST_INVALID, "is listed twice"),
    Case("size as text", _files_edited(_string_size), trust.MANIFEST_INVALID, "/files/0/size"),
    Case("unknown kind", _files_edited(_unknown_kind), trust.MANIFEST_INVALID, "/files/0/kind"),
    Case("path not text", _files_edited(_surrogate_path), trust.MANIFEST_INVALID, "is not allowed in a bundle"),
    Case("duplicate keys", _duplicate_keys, trust.MANIFEST_INVALID, "duplicate key 'name'"),
    Case("signed garbage", _signed_not_json, trust.MANIFEST_INVALID, "manifest.json is not valid JSON"),
    Case("expired", _expired, trust.EXPIRED, "expired at 2025-06-01T00:00:00Z"),
    Case("replay", _edited(sequence=1), trust.ROLLBACK, "replay: bundle site-a sequence 1 is not newer"),
    Case("another name expected", _untouched, trust.UNEXPECTED_NAME, "'site-a' is not the bundle", "site-b"),
]
