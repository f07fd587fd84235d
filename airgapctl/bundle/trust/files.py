"""Careful file access for trust decisions, and listing and hashing a bundle directory fast.

No symlink is followed; replacement is atomic and durable. Speed (the 2-core build machine):
hashlib releases the GIL for large updates, so one thread per core hashes different files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

from .codes import BAD_INPUT, ENVIRONMENT, FILE_MISSING, MANIFEST_INVALID, UNSAFE_ENTRY, TrustError


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
    try:
        path.encode("utf-8")  # a lone surrogate names no file a manifest can list
    except UnicodeEncodeError:
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
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:  # gone or unreadable between listing and looking
                raise TrustError(BAD_INPUT, f"cannot read {rel} in the bundle: {error.strerror}") from None
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
