"""What a site remembers of bundles: the accepted state and the hash-chained import ledger."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os

from .codes import BAD_INPUT, ENVIRONMENT, LEDGER_BROKEN, ROLLBACK, TrustError, format_utc
from .files import fsync_directory, load_json_strict, read_regular_file, write_atomic

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
        if not all(type(record[key]) is int and record[key] >= 0 for key in ("sequence", "highest_sequence")):
            raise TrustError(BAD_INPUT, f"state file {path}: entry {name!r} has no valid sequence")
    return bundles


def write_accepted(state_dir, records):
    document = {"schema": STATE_SCHEMA, "schema_version": 1, "bundles": {n: records[n] for n in sorted(records)}}
    write_atomic(os.path.join(state_dir, STATE_FILE), (json.dumps(document, sort_keys=True, indent=2) + "\n").encode(),
                 mode=0o640)  # fmt: skip


@contextlib.contextmanager
def state_lock(state_dir, create=True):
    """Hold the state directory's lock: exclusive, creating the directory (0750) and the lock file;
    or, with ``create`` false (a check that records nothing), shared, and only if they exist."""
    lock = os.path.join(state_dir, LOCK_FILE)
    if not create and not os.path.lexists(lock):
        yield
        return
    try:
        if create:
            os.makedirs(state_dir, mode=0o750, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
        fd = os.open(lock, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    except OSError as error:
        raise TrustError(ENVIRONMENT, f"cannot use state directory {state_dir}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if create else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def check_sequence(manifest, records, allow_downgrade):
    """(last accepted sequence or None, downgrade, warnings) against ``records``; ROLLBACK unless allowed."""
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
    notes = (f"accepted as a deliberate {what}: sequence {manifest['sequence']}, last accepted {last}",)
    return last, downgrade, notes if downgrade else ()


def record_accepted(state_dir, records, manifest, digest, now):
    """Write ``manifest`` as the last accepted bundle of its name (under the exclusive state lock)."""
    previous = records.get(manifest["name"])
    highest = max(manifest["sequence"], previous["highest_sequence"] if previous else 0)
    records = {**records, manifest["name"]: {
        "sequence": manifest["sequence"], "highest_sequence": highest, "version": manifest["version"],
        "manifest_sha256": digest, "key_id": manifest["key_id"], "accepted": format_utc(now),
    }}  # fmt: skip
    write_accepted(state_dir, records)


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


def _broken(path, problem):
    return TrustError(LEDGER_BROKEN, f"ledger {path}: {problem}",
                      "check it with airgapctl bundle ledger verify; restore it from a backup")  # fmt: skip


def _check_head(path, lines):
    """Refuse to append to a ledger whose head file no longer matches it: a line removed or edited
    since the last append must stay visible, not be covered by a new head."""
    head_file = head_path(path)
    if not os.path.lexists(head_file):
        if lines:
            raise _broken(path, f"head file {head_file} is missing (removed)")
        return
    try:
        head = json.loads(read_regular_file(head_file, 4096, "ledger head"))
        entries, last = head["entries"], head["last_sha256"]
    except (TrustError, ValueError, TypeError, KeyError):
        raise _broken(path, f"head file {head_file} is not valid (edited)") from None
    if type(entries) is not int or not 0 <= entries <= len(lines):
        raise _broken(path, f"the head records {entries!r} entries, the ledger holds {len(lines)} (lines removed)")
    if entries and line_hash(lines[entries - 1]) != last:
        raise _broken(path, f"line {entries} does not match the head file (edited)")
    # One line past the head is an append whose head update was cut short; more is not ours.
    if len(lines) - entries > 1:
        raise _broken(path, f"{len(lines) - entries} lines after the head's {entries} (added)")


def check_appendable(path):
    """Fail before a verification starts when its outcome could not be recorded."""
    fd = _open_for_append(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        lines = ledger_lines(_read_all(fd), path)
        _check_head(path, lines)
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
        _check_head(path, lines)
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
