"""The rejection classes of the trust core, as data: one mutation of a good signed tree per case.

Every case turns a tree that would be accepted (sequence 2 of ``site-a``, after a site
accepted sequence 1) into one that must be refused with ``code``, and a message containing
``message``. A bundle and a data package are the same kind of signed tree, so one list serves
both: ``cases_for(layout)`` says where the cases reach into a tree (``CASES`` is the bundle's).
airgapctl's ``bundle verify`` and the appliance's Ansible module both run the bundle's
(tests/unit/test_bundle_verify.py, tests/integration/test_trust_front_ends.py) and must give
the same exit code and ledger entry for each; ``sync import`` runs them on a data package
(tests/unit/test_sync_package.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle import trust
from airgapctl.bundle.keys import load_private_key, sign_detached

# A mutation changes the good tree at its first argument, re-signing with the private key at its second.
Mutation = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Layout:
    """Where the cases reach into a good tree: one file of ``probe_size`` bytes (no other file has
    that size) and three directories that exist in it (the extra file, the symlink, the fifo go there)."""

    probe: str
    probe_size: int
    extra_dir: str
    link_dir: str
    fifo_dir: str
    # What the good tree's manifest says it is (the trust core refuses the other kind).
    kind: str = "bundle"


# A bundle of tests/unit/test_bundle_support.py's DEFAULT_FILES.
BUNDLE = Layout(probe="specs/orders.yaml", probe_size=15, extra_dir="roles", link_dir="specs", fifo_dir="debs")
ORDERS = BUNDLE.probe
ARTICLES = {"bundle": "a bundle", "package": "a data package"}


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Mutation
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


def _edited(**changes) -> Mutation:
    def mutate(root: Path, private: Path) -> None:
        resign(root, private, {**_document(root), **changes})

    return mutate


def _remove(layout: Layout) -> Mutation:
    def mutate(root, _):
        (root / layout.probe).unlink()

    return mutate


def _add_extra(layout: Layout) -> Mutation:
    def mutate(root, _):
        (root / layout.extra_dir / "extra").mkdir()
        (root / layout.extra_dir / "extra" / "x.yml").write_text("x")

    return mutate


def _add_empty_dir(root, _):
    (root / "newdir").mkdir()


def _undecodable_name(root, _):
    (root / os.fsdecode(b"\xffbad.bin")).write_bytes(b"x")


def _grow(layout: Layout) -> Mutation:
    def mutate(root, _):
        with open(root / layout.probe, "ab") as handle:
            handle.write(b"#")

    return mutate


def flip_byte(layout: Layout) -> Mutation:
    def mutate(root, _):
        data = bytearray((root / layout.probe).read_bytes())
        data[0] ^= 1
        (root / layout.probe).write_bytes(bytes(data))

    return mutate


def _symlink_file(layout: Layout) -> Mutation:
    def mutate(root, _):
        (root / layout.probe).unlink()
        (root / layout.probe).symlink_to("/etc/hostname")

    return mutate


def _symlink_dir(layout: Layout) -> Mutation:
    def mutate(root, _):
        (root / layout.link_dir / "etc").symlink_to("/etc")

    return mutate


def _fifo(layout: Layout) -> Mutation:
    def mutate(root, _):
        os.mkfifo(root / layout.fifo_dir / "pipe")

    return mutate


def _symlink_manifest(root, _):
    (root / "manifest.json").rename(root.parent / f"{root.name}-elsewhere.json")
    (root / "manifest.json").symlink_to(root.parent / f"{root.name}-elsewhere.json")


def _fifo_manifest(root, _):
    (root / "manifest.json").unlink()
    os.mkfifo(root / "manifest.json")  # opening it must not hang the verifier


def _no_manifest(root, _):
    (root / "manifest.json").unlink()


def _tamper_manifest(layout: Layout) -> Mutation:
    def mutate(root, private):
        text = (root / "manifest.json").read_text()
        size = f'"size": {layout.probe_size}'
        (root / "manifest.json").write_text(text.replace(size, f'"size": {layout.probe_size + 1}'))
        _grow(layout)(root, private)  # the manifest now matches the altered file, but its signature does not

    return mutate


def _drop_signature(layout: Layout) -> Mutation:
    def mutate(root, private):
        (root / "manifest.json.sig").unlink()
        _add_extra(layout)(root, private)  # nothing unsigned is trusted: the signature is reported, not the extra

    return mutate


def _garbled_signature(root, _):
    (root / "manifest.json.sig").write_text("not base64!\n")


def _files_edited(edit: Callable[[list], None]) -> Mutation:
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


def cases_for(layout: Layout) -> list[Case]:
    """Every rejection class, reaching into a good tree laid out as ``layout`` says."""
    probe, extra, size = layout.probe, f"{layout.extra_dir}/extra/x.yml", layout.probe_size
    other = "package" if layout.kind == "bundle" else "bundle"
    return [
        Case("missing file", _remove(layout), trust.FILE_MISSING, f"file missing: {probe}"),
        Case("extra file", _add_extra(layout), trust.FILE_EXTRA, f"file not in the manifest: {extra}"),
        Case("empty directory", _add_empty_dir, trust.FILE_EXTRA, "file not in the manifest: newdir/"),
        Case("undecodable name", _undecodable_name, trust.FILE_EXTRA, "file not in the manifest: "),
        Case(
            "grown file",
            _grow(layout),
            trust.FILE_ALTERED,
            f"file altered: {probe}: {size + 1} bytes, the manifest says {size}",
        ),
        Case("flipped byte", flip_byte(layout), trust.FILE_ALTERED, f"file altered: {probe}: sha256 expected"),
        Case("symlinked file", _symlink_file(layout), trust.UNSAFE_ENTRY, f"{probe} is a symlink"),
        Case("symlinked directory", _symlink_dir(layout), trust.UNSAFE_ENTRY, f"{layout.link_dir}/etc is a symlink"),
        Case("fifo", _fifo(layout), trust.UNSAFE_ENTRY, f"{layout.fifo_dir}/pipe is a fifo"),
        Case("symlinked manifest", _symlink_manifest, trust.UNSAFE_ENTRY, "manifest.json is a symlink"),
        Case("fifo manifest", _fifo_manifest, trust.UNSAFE_ENTRY, "manifest.json is not a regular file"),
        Case("no manifest", _no_manifest, trust.SIGNATURE, "nothing in this directory is signed"),
        Case("tampered manifest", _tamper_manifest(layout), trust.SIGNATURE, "signature does not verify"),
        Case("no signature", _drop_signature(layout), trust.SIGNATURE, "manifest.json.sig is missing"),
        Case("garbled signature", _garbled_signature, trust.SIGNATURE, "is not one line of base64"),
        Case("misstated signer", _edited(key_id="0" * 64), trust.SIGNATURE, "names key 000000000000"),
        Case("claimed key unprintable", _claims_control_characters, trust.SIGNATURE, "the manifest claims key ?,"),
        Case("unknown field", _edited(unexpected=True), trust.MANIFEST_INVALID, "unknown key 'unexpected'"),
        Case("sequence as text", _edited(sequence="2"), trust.MANIFEST_INVALID, "/sequence"),
        Case("sequence zero", _edited(sequence=0), trust.MANIFEST_INVALID, "/sequence"),
        Case("malformed expiry", _edited(expires="2026-13-45T00:00:00Z"), trust.MANIFEST_INVALID, "/expires"),
        Case("expiry not a time", _edited(expires="tomorrow"), trust.MANIFEST_INVALID, "/expires"),
        Case("files not a list", _edited(files={}), trust.MANIFEST_INVALID, "/files: is not an array"),
        Case("unknown manifest kind", _edited(kind="archive"), trust.MANIFEST_INVALID, "/kind: 'archive'"),
        Case("the other kind", _edited(kind=other), trust.MANIFEST_INVALID, f"is {ARTICLES[other]}, not"),
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


CASES = cases_for(BUNDLE)
