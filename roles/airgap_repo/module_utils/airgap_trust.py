"""The bundle's trust rules, once: exit codes, manifest format and paths, file checks, sequence, ledger.

Standard library only. airgapctl's ``bundle verify`` is built on this module, and the
``airgap_repo`` role ships a byte-identical copy as ``module_utils/airgap_trust.py`` for the
appliance, which has no airgapctl (nor the cryptography package) when it checks its first
bundle; a test keeps the copy current. The signature check is passed in, as a function of
(raw 32-byte Ed25519 key, data, signature) -> bool: the cryptography package in airgapctl,
a plain-Python verifier on the appliance. Everything else, messages included, is decided
here, so a rejection reads the same, with the same exit code and ledger entry, on both sides.

Formats (references: airgapctl/schemas/manifest.schema.json and the docstrings below):
manifest.json (canonical JSON, signed byte for byte) with manifest.json.sig (base64 of the
raw 64-byte signature, one line); <state>/accepted.json; the hash-chained ledger and its head.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import mmap
import os
import re
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import PurePosixPath

# Exit codes: one per rejection class, so scripts (and the Ansible role) can tell them apart.
OK = 0
FAILED = 1
BAD_INPUT = 2
ENVIRONMENT = 3
SIGNATURE = 10  # the manifest's (or a part index's) signature is missing, malformed or wrong
FILE_MISSING = 11  # a file the signed manifest lists is not in the bundle
FILE_EXTRA = 12  # the bundle holds a file or directory the signed manifest does not list
FILE_ALTERED = 13  # a listed file's size or SHA-256 differs from the signed manifest
ROLLBACK = 14  # the sequence is not newer than the last accepted one (rollback or replay)
EXPIRED = 15  # the signed expiry time has passed
FOREIGN_PART = 16  # a part (or a part's index) belongs to another bundle
UNSAFE_ENTRY = 17  # a symlink, hard link, device, fifo, path escape or size bomb
LEDGER_BROKEN = 18  # the import ledger's hash chain is broken
MANIFEST_INVALID = 19  # a correctly signed manifest or part index does not match its format
PART_MISSING = 20  # a part the signed part index lists was not given
PART_ALTERED = 21  # a part's size or SHA-256 differs from the signed part index
ATTESTATION = 22  # no passing test record, or roles/playbooks differ from the tested ones
# The rejection classes by name, as the Ansible role reports them.
CLASS_NAMES = {
    SIGNATURE: "signature", FILE_MISSING: "missing", FILE_EXTRA: "extra", FILE_ALTERED: "altered",
    ROLLBACK: "rollback", EXPIRED: "expired", FOREIGN_PART: "foreign-part", UNSAFE_ENTRY: "unsafe",
    LEDGER_BROKEN: "ledger", MANIFEST_INVALID: "invalid", PART_MISSING: "part-missing",
    PART_ALTERED: "part-altered", ATTESTATION: "attestation", BAD_INPUT: "bad-input",
    ENVIRONMENT: "environment", FAILED: "failed",
}  # fmt: skip

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.json.sig"
RESERVED_NAMES = (MANIFEST_NAME, SIGNATURE_NAME)
MANIFEST_SCHEMA = "airgapctl/bundle-manifest"
# A manifest of 100,000 files is about 20 MB; anything far larger is not ours.
MANIFEST_LIMIT = 64 << 20
KEY_FILE_LIMIT = 64 << 10
SIGNATURE_FILE_LIMIT = 1024
KINDS = ("apt", "wheel", "collection", "spec", "file", "sbom", "toolkit", "role", "playbook", "meta")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
HASH_PREFIX = 12
# 64 raw bytes encode to 86 base64 characters plus "==".
SIGNATURE_TEXT = re.compile(rb"[A-Za-z0-9+/]{86}==\n?")
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # DER SubjectPublicKeyInfo of an Ed25519 key

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_MANIFEST_KEYS = ("schema", "schema_version", "name", "version", "sequence", "created", "expires", "key_id",
                  "files", "sbom", "attestation")  # fmt: skip
_OPTIONAL_KEYS = ("expires",)
_FILE_KEYS = ("kind", "path", "sha256", "size")
MAX_SEQUENCE = (1 << 63) - 1
PATH_LIMIT = 4096


class TrustError(Exception):
    """A failed trust check: ``code`` is its exit code, ``message`` one line, ``hint`` the fix."""

    def __init__(self, code, message, hint=None):
        # A file name that is not UTF-8 is shown escaped (\xff), so every output can carry the message.
        message = message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def format_utc(moment):
    """``2025-01-31T12:00:00Z``: UTC, second precision (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_utc(text):
    """The aware datetime of a manifest time string; ValueError for anything else."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a UTC time like 2025-01-31T12:00:00Z")
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


# Careful file access: no symlink is followed, replacement is atomic and durable.


def read_regular_file(path, limit, what):
    """The bytes of ``path``, refusing a symlink, a non-regular file or one larger than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a fifo must not block us
    except FileNotFoundError:
        raise TrustError(BAD_INPUT, f"{what} {path} does not exist") from None
    except OSError as error:
        if os.path.islink(path):
            raise TrustError(UNSAFE_ENTRY, f"{what} {path} is a symlink; refusing to follow it") from None
        raise TrustError(BAD_INPUT, f"cannot read {what} {path}: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise TrustError(UNSAFE_ENTRY, f"{what} {path} is not a regular file")
        if info.st_size > limit:
            raise TrustError(BAD_INPUT, f"{what} {path} is {info.st_size} bytes, more than the {limit} allowed")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TrustError(BAD_INPUT, f"{what} {path} grew past {limit} bytes while being read")
    return data


def fsync_directory(directory):
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, data, mode=0o644):
    """Replace ``path`` with ``data`` so a reader sees the old or the new content, never a mix."""
    directory, name = os.path.split(os.fspath(path))
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory or ".")
    except OSError as error:
        raise TrustError(ENVIRONMENT, f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_directory(directory or ".")


def _refuse_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate key {duplicates[0]!r}")
    return dict(pairs)


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def load_json_strict(data, label, code=MANIFEST_INVALID):
    """Parse JSON refusing duplicate keys and NaN/Infinity, so one text cannot mean two things."""
    try:
        return json.loads(data, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise TrustError(code, f"{label} is not valid JSON: {error}") from None


def is_safe_relative_path(path):
    """A relative POSIX path that stays inside its root: no '/', '.', '..' or empty segments."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/")) and str(PurePosixPath(path)) == path


# Listing and hashing a bundle directory.


def _kind_of(mode):
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def list_tree(root, skip=()):
    """(regular files below ``root`` as relative path -> size, empty directories); links refused."""
    skipped = frozenset(skip)
    files, empty_dirs, pending = {}, [], [""]
    while pending:
        prefix = pending.pop()
        try:
            with os.scandir(os.path.join(root, prefix)) as scan:
                entries = [e for e in scan if f"{prefix}{e.name}" not in skipped]
        except OSError as error:
            raise TrustError(BAD_INPUT, f"cannot list {os.path.join(root, prefix)}: {error.strerror}") from None
        if not entries and prefix:
            empty_dirs.append(prefix.rstrip("/"))
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                pending.append(f"{rel}/")
            elif stat.S_ISREG(info.st_mode):
                files[rel] = info.st_size
            else:
                raise TrustError(
                    UNSAFE_ENTRY,
                    f"unsafe entry in bundle: {rel} is a {_kind_of(info.st_mode)}",
                    "a bundle holds only regular files and directories",
                )
    return files, tuple(sorted(empty_dirs))


BUFFER_SIZE = 1 << 20
# Progress is reported per file, and within a large file every this many bytes (never per read).
REPORT_BYTES = 32 << 20
# Below this much data a thread pool costs more than it saves.
PARALLEL_THRESHOLD_BYTES = 16 << 20
_local = threading.local()


def _thread_buffer():
    # A page-aligned buffer (an anonymous mmap): one from the heap sits 16 bytes past a page
    # boundary and makes the kernel's copy from the page cache hit 4K-aliasing stalls.
    view = getattr(_local, "view", None)
    if view is None:
        _local.buffer = mmap.mmap(-1, BUFFER_SIZE)
        view = _local.view = memoryview(_local.buffer)
    return view


def hash_file(path, label=None, report=None):
    """(size, SHA-256 hex) of the regular file ``path``, never through a symlink; ``report(bytes, files)``."""
    label = label or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a fifo must not block us
    except FileNotFoundError:
        raise TrustError(FILE_MISSING, f"file missing: {label}") from None
    except OSError as error:
        if os.path.islink(path):
            raise TrustError(UNSAFE_ENTRY, f"unsafe entry in bundle: {label} is a symlink") from None
        raise TrustError(BAD_INPUT, f"cannot read {label}: {error.strerror}") from None
    view, digest = _thread_buffer(), hashlib.sha256()
    size = reported = 0
    with open(fd, "rb", buffering=0, closefd=True) as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TrustError(UNSAFE_ENTRY, f"unsafe entry in bundle: {label} is not a regular file")
        while count := handle.readinto(view):
            digest.update(view[:count])
            size += count
            if report is not None and size - reported >= REPORT_BYTES:
                report(size - reported, 0)
                reported = size
    if report is not None:
        report(size - reported, 1)
    return size, digest.hexdigest()


def worker_count():
    """Threads to hash with: the cores this process may use, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _balanced_shares(files, workers):
    """Split the files into ``workers`` lists of about equal bytes, largest files first (LPT)."""
    shares, loads = [[] for _ in range(workers)], [0] * workers
    for rel in sorted(files, key=lambda rel: (-files[rel], rel)):
        lightest = loads.index(min(loads))
        shares[lightest].append(rel)
        loads[lightest] += files[rel] + 4096  # a small file still costs an open and a read
    return shares


def hash_files(root, files, workers=None, report=None):
    """Hash ``files`` (relative path -> expected size) below ``root``: {path: (size, sha256)}.

    hashlib releases the GIL for large updates, so one thread per core hashes different files
    in parallel; each thread gets one fixed share (one task per file cost a third of the speed).
    """
    workers = min(workers or worker_count(), max(1, len(files)))
    if workers == 1 or sum(files.values()) < PARALLEL_THRESHOLD_BYTES:
        return {rel: hash_file(os.path.join(root, rel), rel, report) for rel in sorted(files)}

    def hash_share(share):
        return [(rel, hash_file(os.path.join(root, rel), rel, report)) for rel in share]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bundle-hash") as pool:
        return dict(item for digests in pool.map(hash_share, _balanced_shares(files, workers)) for item in digests)


# Keys and detached signatures.


def key_id(raw_key):
    """The key id: SHA-256 (hex) of the raw 32-byte public key."""
    return hashlib.sha256(raw_key).hexdigest()


def public_key_from_pem(data, label="public key"):
    """The raw 32-byte key of a PEM 'PUBLIC KEY' (SubjectPublicKeyInfo) holding an Ed25519 key."""
    try:
        lines = [line.strip() for line in data.decode("ascii").strip().splitlines()]
    except UnicodeDecodeError:
        lines = []
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise TrustError(BAD_INPUT, f"{label} is not a PEM public key", "give the site's bundle key (bundle.pub)")
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise TrustError(BAD_INPUT, f"{label} is not valid PEM (base64)") from None
    if len(der) != len(SPKI_PREFIX) + 32 or not der.startswith(SPKI_PREFIX):
        raise TrustError(BAD_INPUT, f"{label} is not an Ed25519 public key")
    return der[len(SPKI_PREFIX) :]


def read_public_key(path):
    """The raw Ed25519 key in the PEM file ``path``."""
    return public_key_from_pem(read_regular_file(path, KEY_FILE_LIMIT, "public key"), f"public key {path}")


def read_signature_file(path, what):
    """The raw 64-byte signature in ``path``; a missing or malformed file is a signature failure."""
    if not os.path.lexists(path):
        raise TrustError(SIGNATURE, f"{what} signature {path} is missing", "the bundle was never sealed")
    text = read_regular_file(path, SIGNATURE_FILE_LIMIT, f"{what} signature")
    if not SIGNATURE_TEXT.fullmatch(text):
        raise TrustError(SIGNATURE, f"{what} signature {path} is not one line of base64 of a 64-byte signature")
    return base64.b64decode(text.strip(), validate=True)


def check_signature(signature_ok, raw_key, data, signature, what):
    """Raise a SIGNATURE TrustError unless ``signature`` is ``raw_key``'s signature of ``data``."""
    if not signature_ok(raw_key, data, signature):
        raise TrustError(
            SIGNATURE,
            f"{what} signature does not verify with key {key_id(raw_key)[:16]}: "
            "the file was altered or signed by another (unknown) key",
            "check that the public key is this site's bundle key and that the media were not altered",
        )


# The manifest (contract 1).


def _invalid(label, pointer, problem):
    hint = "the manifest was signed but does not follow airgapctl/schemas/manifest.schema.json"
    return TrustError(MANIFEST_INVALID, f"{label}: {pointer}: {problem}", hint)


def _is_int(value):
    return type(value) is int


def _check_text(document, key, pattern, label):
    value = document[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _invalid(label, f"/{key}", f"{value!r} does not match {pattern.pattern!r}")


def _check_time(document, key, label, optional=False):
    value = document.get(key)
    if optional and value is None:
        return
    try:
        parse_utc(value)
    except ValueError as error:
        raise _invalid(label, f"/{key}", str(error)) from None


def _check_file_entry(index, entry, label):
    pointer = f"/files/{index}"
    if not isinstance(entry, dict):
        raise _invalid(label, pointer, "is not an object")
    if sorted(entry) != list(_FILE_KEYS):
        raise _invalid(label, pointer, f"has keys {sorted(entry)}, expected exactly {list(_FILE_KEYS)}")
    path = entry["path"]
    if not is_safe_relative_path(path) or len(path) > PATH_LIMIT or path in RESERVED_NAMES:
        raise _invalid(label, f"{pointer}/path", f"path {path!r} is not allowed in a bundle")
    if not _is_int(entry["size"]) or entry["size"] < 0:
        raise _invalid(label, f"{pointer}/size", f"{entry['size']!r} is not a size in bytes")
    if not isinstance(entry["sha256"], str) or not _SHA256.fullmatch(entry["sha256"]):
        raise _invalid(label, f"{pointer}/sha256", f"{entry['sha256']!r} is not a SHA-256 in lower-case hex")
    if entry["kind"] not in KINDS:
        raise _invalid(label, f"{pointer}/kind", f"{entry['kind']!r} is not one of {', '.join(KINDS)}")


def _check_files_list(files, label):
    if not isinstance(files, list):
        raise _invalid(label, "/files", "is not an array")
    previous = None
    for index, entry in enumerate(files):
        _check_file_entry(index, entry, label)
        if previous is not None and entry["path"] <= previous:
            problem = "listed twice" if entry["path"] == previous else "out of order"
            raise _invalid(label, f"/files/{index}/path", f"{entry['path']!r} is {problem}")
        previous = entry["path"]


def check_manifest(document, label):
    """Raise MANIFEST_INVALID unless ``document`` is a manifest as the schema and the rules around it say."""
    if not isinstance(document, dict):
        raise _invalid(label, "/", "is not a JSON object")
    unknown = sorted(set(document) - set(_MANIFEST_KEYS))
    if unknown:
        raise _invalid(label, "/", f"unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_MANIFEST_KEYS))}")
    missing = [key for key in _MANIFEST_KEYS if key not in document and key not in _OPTIONAL_KEYS]
    if missing:
        raise _invalid(label, "/", f"required key {missing[0]!r} is missing")
    if (
        document["schema"] != MANIFEST_SCHEMA
        or not _is_int(document["schema_version"])
        or document["schema_version"] != 1
    ):
        raise _invalid(label, "/schema", f"not an {MANIFEST_SCHEMA} document of schema_version 1")
    _check_text(document, "name", _NAME, label)
    _check_text(document, "version", _VERSION, label)
    sequence = document["sequence"]
    if not _is_int(sequence) or not 1 <= sequence <= MAX_SEQUENCE:
        raise _invalid(label, "/sequence", f"{sequence!r} is not a whole number from 1 to {MAX_SEQUENCE}")
    _check_time(document, "created", label)
    _check_time(document, "expires", label, optional=True)
    _check_text(document, "key_id", _SHA256, label)
    _check_files_list(document["files"], label)
    sbom = document["sbom"]
    if sbom is not None and sbom not in {entry["path"] for entry in document["files"]}:
        raise _invalid(label, "/sbom", f"{sbom!r} is not one of the listed files")
    if document["attestation"] is not None and not isinstance(document["attestation"], dict):
        raise _invalid(label, "/attestation", "is neither an object nor null")
    return document


def read_signed_manifest(root, raw_key, signature_ok):
    """(manifest document, SHA-256 of its bytes), only once its signature verified with ``raw_key``."""
    path = os.path.join(root, MANIFEST_NAME)
    if not os.path.lexists(path):
        raise TrustError(SIGNATURE, f"{path} is missing: nothing in this directory is signed",
                         "give the bundle directory that holds manifest.json and manifest.json.sig")  # fmt: skip
    data = read_regular_file(path, MANIFEST_LIMIT, "manifest")
    signature = read_signature_file(os.path.join(root, SIGNATURE_NAME), MANIFEST_NAME)
    try:
        check_signature(signature_ok, raw_key, data, signature, MANIFEST_NAME)
    except TrustError as error:
        claimed = f" (the manifest claims key {_claimed_key_id(data)}, unverified)"
        raise TrustError(error.code, error.message + claimed, error.hint) from None
    manifest = check_manifest(load_json_strict(data, MANIFEST_NAME), MANIFEST_NAME)
    if manifest["key_id"] != key_id(raw_key):
        raise TrustError(
            SIGNATURE,
            f"{MANIFEST_NAME} names key {manifest['key_id'][:HASH_PREFIX]} but verified with key "
            f"{key_id(raw_key)[:HASH_PREFIX]}: refusing a manifest that misstates its signer",
        )
    return manifest, hashlib.sha256(data).hexdigest()


def _claimed_key_id(data):
    """For the message only: the key id an unverified manifest claims, or '?'."""
    try:
        claimed = json.loads(data).get("key_id")
    except (ValueError, AttributeError, RecursionError):
        return "?"
    return claimed[:HASH_PREFIX] if isinstance(claimed, str) else "?"


def _count(problems, what):
    return "" if len(problems) == 1 else f" (and {len(problems) - 1} more {what})"


def check_files(root, files, progress=None):
    """Every listed file present, nothing else, every size and hash as signed.

    ``files`` is the manifest's list; ``progress(total_bytes, count)``, when given, returns a
    context manager whose value is called with (bytes, files) as hashing goes.
    """
    present, empty_dirs = list_tree(root, skip=RESERVED_NAMES)  # a symlink or device anywhere is refused here
    listed = {entry["path"]: entry for entry in files}
    missing = sorted(set(listed) - set(present))
    if missing:
        raise TrustError(FILE_MISSING, f"file missing: {missing[0]}{_count(missing, 'missing files')}")
    extra = sorted([*(set(present) - set(listed)), *(f"{d}/" for d in empty_dirs)])
    if extra:
        raise TrustError(FILE_EXTRA, f"file not in the manifest: {extra[0]}{_count(extra, 'unlisted entries')}")
    for path, entry in listed.items():
        if present[path] != entry["size"]:
            raise TrustError(
                FILE_ALTERED, f"file altered: {path}: {present[path]} bytes, the manifest says {entry['size']}"
            )
    bar = progress(sum(present.values()), len(present)) if progress else contextlib.nullcontext(None)
    with bar as report:
        digests = hash_files(root, present, report=report)
    for path, entry in listed.items():
        size, sha256 = digests[path]
        if sha256 != entry["sha256"] or size != entry["size"]:
            raise TrustError(
                FILE_ALTERED,
                f"file altered: {path}: sha256 expected {entry['sha256'][:HASH_PREFIX]}, found {sha256[:HASH_PREFIX]}",
            )


def check_expiry(manifest, now):
    expires = manifest.get("expires")
    if expires is not None and now >= parse_utc(expires):
        raise TrustError(
            EXPIRED,
            f"bundle {manifest['name']} sequence {manifest['sequence']} expired at {expires} (now {format_utc(now)})",
            "build and seal a fresh bundle on the connected side",
        )


# The accepted state: <state_dir>/accepted.json = {"schema": "airgapctl/bundle-accepted",
# "schema_version": 1, "bundles": {NAME: {"sequence", "highest_sequence", "version",
# "manifest_sha256", "key_id", "accepted"}}}. ``sequence`` is the last accepted (a deliberate
# downgrade lowers it); ``highest_sequence`` the highest ever. Replaced atomically; the
# check-then-update runs under an exclusive lock so two imports cannot both pass the check.

STATE_FILE = "accepted.json"
LOCK_FILE = "accepted.lock"
STATE_SCHEMA = "airgapctl/bundle-accepted"
STATE_LIMIT = 16 << 20
RECORD_FIELDS = ("sequence", "highest_sequence", "version", "manifest_sha256", "key_id", "accepted")


def read_accepted(state_dir):
    """Every bundle name's accepted record (a dict of RECORD_FIELDS); an unreadable file fails closed."""
    path = os.path.join(state_dir, STATE_FILE)
    if not os.path.lexists(path):
        return {}
    document = load_json_strict(read_regular_file(path, STATE_LIMIT, "state file"), f"state file {path}", BAD_INPUT)
    if not isinstance(document, dict) or document.get("schema") != STATE_SCHEMA:
        raise TrustError(BAD_INPUT, f"state file {path} is not an airgapctl accepted-bundles file", "restore it")
    bundles = document.get("bundles")
    if not isinstance(bundles, dict):
        raise TrustError(BAD_INPUT, f"state file {path} has no 'bundles' object", "restore it from a backup")
    for name, record in bundles.items():
        if not isinstance(record, dict) or sorted(record) != sorted(RECORD_FIELDS):
            raise TrustError(BAD_INPUT, f"state file {path}: entry {name!r} has unexpected fields")
        if not all(_is_int(record[key]) and record[key] >= 0 for key in ("sequence", "highest_sequence")):
            raise TrustError(BAD_INPUT, f"state file {path}: entry {name!r} has no valid sequence")
    return bundles


def write_accepted(state_dir, records):
    document = {"schema": STATE_SCHEMA, "schema_version": 1, "bundles": {n: records[n] for n in sorted(records)}}
    write_atomic(os.path.join(state_dir, STATE_FILE), (json.dumps(document, sort_keys=True, indent=2) + "\n").encode(),
                 mode=0o640)  # fmt: skip


@contextlib.contextmanager
def state_lock(state_dir):
    """Hold the state directory's exclusive lock (the directory is created 0750 if missing)."""
    try:
        os.makedirs(state_dir, mode=0o750, exist_ok=True)
        fd = os.open(os.path.join(state_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    except OSError as error:
        raise TrustError(ENVIRONMENT, f"cannot use state directory {state_dir}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def accept_sequence(manifest, digest, state_dir, allow_downgrade, now, commit=True):
    """(last accepted sequence or None, downgrade, warnings); records this one unless ``commit`` is false."""
    if state_dir is None:
        return None, False, False, ("sequence not checked: no state directory given",)
    with state_lock(state_dir):
        records = read_accepted(state_dir)
        previous = records.get(manifest["name"])
        last = previous["sequence"] if previous else None
        downgrade = last is not None and manifest["sequence"] <= last
        what = "replay" if manifest["sequence"] == last else "rollback"
        if downgrade and not allow_downgrade:
            raise TrustError(
                ROLLBACK,
                f"{what}: bundle {manifest['name']} sequence {manifest['sequence']} is not newer than "
                f"the last accepted sequence {last}",
                "only a bundle with a higher sequence is accepted; allowing a downgrade overrides, on purpose",
            )
        if commit:
            highest = max(manifest["sequence"], previous["highest_sequence"] if previous else 0)
            records[manifest["name"]] = {
                "sequence": manifest["sequence"], "highest_sequence": highest, "version": manifest["version"],
                "manifest_sha256": digest, "key_id": manifest["key_id"], "accepted": format_utc(now),
            }  # fmt: skip
            write_accepted(state_dir, records)
    notes = (f"accepted as a deliberate {what}: sequence {manifest['sequence']}, last accepted {last}",)
    return last, True, downgrade, notes if downgrade else ()


# The import ledger: one hash-chained JSON line per verification attempt, accepted or rejected.
# Each line (compact JSON, sorted keys, "\n"-terminated) holds LEDGER_FIELDS; ``prev`` is the
# SHA-256 of the previous line's exact bytes including its newline (GENESIS for the first).
# The head file <ledger>.head ({"entries", "last_sha256"}, replaced atomically after each
# append) reveals a removed or edited last line, which no chain can. Files are mode 0640;
# every append is fsynced under an exclusive lock, and refused after a cut (unterminated) line.

GENESIS = "0" * 64
ATTEMPT_FIELDS = ("source", "bundle", "version", "sequence", "manifest_sha256", "key_id")
LEDGER_FIELDS = {
    "entry": (int,), "time": (str,), "bundle": (str, type(None)), "version": (str, type(None)),
    "sequence": (int, type(None)), "manifest_sha256": (str, type(None)), "key_id": (str, type(None)),
    "source": (str,), "result": (str,), "reason": (str,), "exit_code": (int,), "prev": (str,),
}  # fmt: skip


def head_path(ledger_path):
    return f"{ledger_path}.head"


def line_hash(line):
    return hashlib.sha256(line).hexdigest()


def _open_for_append(path):
    try:
        os.makedirs(os.path.dirname(os.fspath(path)) or ".", mode=0o750, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    except OSError as error:
        raise TrustError(ENVIRONMENT, f"cannot open ledger {path}: {error.strerror}") from None
    os.fchmod(fd, 0o640)
    return fd


def _read_all(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def ledger_lines(content, path):
    """The ledger's lines with their newlines; a cut last line breaks the ledger."""
    if content and not content.endswith(b"\n"):
        count = content.count(b"\n") + 1
        raise TrustError(LEDGER_BROKEN, f"ledger {path}: line {count} is incomplete (no final newline)",
                         "check it with airgapctl bundle ledger verify; restore it from a backup")  # fmt: skip
    return content.splitlines(keepends=True)


def check_appendable(path):
    """Fail before a verification starts when its outcome could not be recorded."""
    fd = _open_for_append(path)
    try:
        ledger_lines(_read_all(fd), path)
    finally:
        os.close(fd)


def new_attempt(source):
    """What is known of an attempt before its manifest is trusted: only where it came from."""
    return dict.fromkeys(ATTEMPT_FIELDS, None) | {"source": str(source)}


def append_attempt(path, attempt, result, reason, exit_code, time):
    """Append one entry chained to the last line; return the entry written."""
    fd = _open_for_append(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        lines = ledger_lines(_read_all(fd), path)
        entry = {
            **{key: attempt[key] for key in ATTEMPT_FIELDS},
            "entry": len(lines) + 1,
            "time": time,
            "result": result,
            "reason": reason,
            "exit_code": int(exit_code),
            "prev": line_hash(lines[-1]) if lines else GENESIS,
        }
        # ASCII: a reason quoting an undecodable file name must still be one valid line.
        line = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
        written = 0
        while written < len(line):
            written += os.write(fd, line[written:])
        os.fsync(fd)
        head = {"entries": len(lines) + 1, "last_sha256": line_hash(line)}
        write_atomic(head_path(path), (json.dumps(head, sort_keys=True) + "\n").encode(), mode=0o640)
    finally:
        os.close(fd)
    fsync_directory(os.path.dirname(os.fspath(path)) or ".")
    return entry


# The whole verification, in the one order both front ends follow.


class Verdict:
    """An accepted bundle: its manifest and digest, and what the sequence check found."""

    def __init__(self, manifest, digest, previous_sequence, sequence_checked, downgrade, warnings):
        self.manifest, self.manifest_sha256 = manifest, digest
        self.previous_sequence, self.sequence_checked = previous_sequence, sequence_checked
        self.downgrade, self.warnings = downgrade, warnings


def verify(root, pubkey_path, signature_ok, now, state_dir=None, ledger=None, allow_downgrade=False,
           commit=True, after_files=None, progress=None):  # fmt: skip
    """Verify the bundle directory ``root`` and accept it (state, ledger) only when every check passed.

    Order: the ledger must be appendable; the key is read; the manifest's signature is checked
    before anything it says is used; then its format, every file, expiry, ``after_files(manifest)``
    (extra checks of the caller), and the sequence. Every attempt, refused or accepted, is
    appended to ``ledger`` when one is given; ``commit`` false checks without recording anything.
    """
    if ledger is not None and commit:
        check_appendable(ledger)  # an attempt we could not record must not start
    attempt = new_attempt(root)
    try:
        if not os.path.isdir(root) or os.path.islink(root):
            raise TrustError(BAD_INPUT, f"bundle directory {root} does not exist or is not a directory")
        raw_key = read_public_key(pubkey_path)
        manifest, digest = read_signed_manifest(root, raw_key, signature_ok)
        attempt.update(bundle=manifest["name"], version=manifest["version"], sequence=manifest["sequence"],
                       manifest_sha256=digest, key_id=manifest["key_id"])  # fmt: skip
        check_files(root, manifest["files"], progress)
        check_expiry(manifest, now)
        if after_files is not None:
            after_files(manifest)
        last, checked, downgrade, warnings = accept_sequence(manifest, digest, state_dir, allow_downgrade, now, commit)
    except Exception as error:
        # A rejection is recorded with its class; an error of the caller's check with its own
        # exit code; an I/O error or a bug still rejects, and is still recorded.
        code = getattr(error, "code", None) if isinstance(error, TrustError) else getattr(error, "exit_code", None)
        message = getattr(error, "message", None) or f"internal error: {error!r}"
        if ledger is not None and commit:
            append_attempt(ledger, attempt, "rejected", message, FAILED if code is None else code, format_utc(now))
        raise
    if ledger is not None and commit:
        append_attempt(ledger, attempt, "accepted", "; ".join(warnings) or "every check passed", OK, format_utc(now))
    return Verdict(manifest, digest, last, checked, downgrade, warnings)
