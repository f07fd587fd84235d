"""Listing a bundle directory without following links, and hashing its files fast.

The rules and the fast hashing itself are the trust core's (airgapctl/bundle/trust/); this
module gives them airgapctl's types and errors. Speed notes (the 2-core build machine):
hashlib releases the GIL for updates larger than 2 KiB, so one thread per core hashes
different files in parallel, each into its own page-aligned 1 MiB buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle import trust
from airgapctl.errors import trust_errors

BUFFER_SIZE = trust.BUFFER_SIZE
REPORT_BYTES = trust.REPORT_BYTES
PARALLEL_THRESHOLD_BYTES = trust.PARALLEL_THRESHOLD_BYTES

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


def list_tree(root: Path, skip: Iterable[str] = ()) -> TreeListing:
    """Every regular file below ``root``; a symlink, device, fifo or socket anywhere is refused."""
    with trust_errors():
        return TreeListing(*trust.list_tree(root, skip))


def hash_file(path: str | Path, label: str | None = None, report: HashCounter | None = None) -> FileDigest:
    """Size and SHA-256 of the regular file ``path`` (never through a symlink), told to ``report`` as it goes."""
    with trust_errors():
        return FileDigest(*trust.hash_file(path, label, report))


def worker_count() -> int:
    """Threads to hash with: the cores this process may use, at most 8."""
    return trust.worker_count()


def hash_files(
    root: Path, files: dict[str, int], workers: int | None = None, report: HashCounter | None = None
) -> dict[str, FileDigest]:
    """Hash ``files`` (relative path -> expected size, used to balance threads) below ``root``."""
    with trust_errors():
        digests = trust.hash_files(root, files, workers, report)
    return {rel: FileDigest(*digest) for rel, digest in digests.items()}
