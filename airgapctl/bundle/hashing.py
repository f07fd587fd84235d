"""Listing a bundle directory without following links, and hashing its files fast.

Speed notes (measured on the 2-core build machine): hashlib releases the GIL for updates
larger than 2 KiB, so one thread per core hashes different files in parallel; each thread
reads into its own page-aligned 1 MiB buffer (an anonymous mmap). A buffer from the heap
sits 16 bytes past a page boundary, which makes the kernel's copy from the page cache hit
4K-aliasing stalls: 0.7 GB/s instead of 1.15 GB/s for the same loop.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import stat
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import BadInputError, BundleFileMissingError, BundleUnsafeEntryError

BUFFER_SIZE = 1 << 20
# Progress is reported per file, and within a large file every this many bytes (never per read).
REPORT_BYTES = 32 << 20
# Below this much data a thread pool costs more than it saves.
PARALLEL_THRESHOLD_BYTES = 16 << 20

_local = threading.local()

# Called with the bytes hashed since its last call and the files finished (0 or 1), from
# whichever thread hashed them: Bar.advance of airgapctl.progress fits.
HashCounter = Callable[[int, int], None]


@dataclass(frozen=True)
class FileDigest:
    size: int
    sha256: str


@dataclass(frozen=True)
class TreeListing:
    """What a directory holds: regular files (relative POSIX path -> size) and empty directories."""

    files: dict[str, int]
    empty_dirs: tuple[str, ...]


def _kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def list_tree(root: Path, skip: Iterable[str] = ()) -> TreeListing:
    """Every regular file below ``root``; a symlink, device, fifo or socket anywhere is refused."""
    skipped = frozenset(skip)
    files: dict[str, int] = {}
    empty_dirs: list[str] = []
    pending = [""]
    while pending:
        prefix = pending.pop()
        try:
            with os.scandir(os.path.join(root, prefix)) as scan:
                entries = [e for e in scan if f"{prefix}{e.name}" not in skipped]
        except OSError as error:
            raise BadInputError(f"cannot list {Path(root, prefix)}: {error.strerror}") from None
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
                raise BundleUnsafeEntryError(
                    f"unsafe entry in bundle: {rel} is a {_kind_of(info.st_mode)}",
                    hint="a bundle holds only regular files and directories",
                )
    return TreeListing(files, tuple(sorted(empty_dirs)))


def _thread_buffer() -> memoryview:
    view = getattr(_local, "view", None)
    if view is None:
        _local.buffer = mmap.mmap(-1, BUFFER_SIZE)  # page-aligned: see the module docstring
        view = _local.view = memoryview(_local.buffer)
    return view


def hash_file(path: str | Path, label: str | None = None, report: HashCounter | None = None) -> FileDigest:
    """Size and SHA-256 of the regular file ``path`` (never through a symlink), told to ``report`` as it goes."""
    label = label or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a fifo must not block us
    except FileNotFoundError:
        raise BundleFileMissingError(f"file missing: {label}") from None
    except OSError as error:
        if os.path.islink(path):
            raise BundleUnsafeEntryError(f"unsafe entry in bundle: {label} is a symlink") from None
        raise BadInputError(f"cannot read {label}: {error.strerror}") from None
    view = _thread_buffer()
    digest = hashlib.sha256()
    size = reported = 0
    with open(fd, "rb", buffering=0, closefd=True) as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BundleUnsafeEntryError(f"unsafe entry in bundle: {label} is not a regular file")
        while count := handle.readinto(view):
            digest.update(view[:count])
            size += count
            if report is not None and size - reported >= REPORT_BYTES:
                report(size - reported, 0)
                reported = size
    if report is not None:
        report(size - reported, 1)
    return FileDigest(size, digest.hexdigest())


def worker_count() -> int:
    """Threads to hash with: the cores this process may use, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _balanced_shares(files: dict[str, int], workers: int) -> list[list[str]]:
    """Split the files into ``workers`` lists of about equal bytes, largest files first (LPT)."""
    shares: list[list[str]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for rel in sorted(files, key=lambda rel: (-files[rel], rel)):
        lightest = loads.index(min(loads))
        shares[lightest].append(rel)
        loads[lightest] += files[rel] + 4096  # a small file still costs an open and a read
    return shares


def hash_files(
    root: Path, files: dict[str, int], workers: int | None = None, report: HashCounter | None = None
) -> dict[str, FileDigest]:
    """Hash ``files`` (relative path -> expected size, used to balance threads) below ``root``.

    Each thread gets one fixed share of the files rather than one task per file: with 2,000
    files, per-task executor overhead under the GIL cost a third of the throughput (1.3 GB/s
    against 1.9 GB/s on two cores).
    """
    workers = min(workers or worker_count(), max(1, len(files)))
    if workers == 1 or sum(files.values()) < PARALLEL_THRESHOLD_BYTES:
        return {rel: hash_file(os.path.join(root, rel), rel, report) for rel in sorted(files)}

    def hash_share(share: list[str]) -> list[tuple[str, FileDigest]]:
        return [(rel, hash_file(os.path.join(root, rel), rel, report)) for rel in share]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bundle-hash") as pool:
        return dict(item for digests in pool.map(hash_share, _balanced_shares(files, workers)) for item in digests)
