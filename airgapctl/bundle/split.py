"""Splitting a verified bundle across media, checking one part alone, and joining the parts.

Format: see parts.py. ``join_parts`` checks every part and the signed index (all copies must
be the same index: a part from another bundle is named), streams the parts in order through
the safe unpack, and checks the joined manifest is the one the index names. It does NOT
accept the bundle: the caller runs ``verify_bundle`` (signature, files, expiry, sequence,
ledger) on the output, exactly as for a bundle that arrived whole.
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from airgapctl.bundle.archive import COPY_CHUNK, DEFAULT_MAX_MEMBERS, archive_members, unpack_stream, write_archive
from airgapctl.bundle.fileio import (
    bundle_root,
    clear_directory,
    prepare_empty_directory,
    read_regular_file,
    write_atomic,
)
from airgapctl.bundle.hashing import worker_count
from airgapctl.bundle.keys import load_private_key, load_public_key, sign_detached
from airgapctl.bundle.manifest import MANIFEST_LIMIT, MANIFEST_NAME
from airgapctl.bundle.parts import (
    PARTS_INDEX,
    PARTS_SIGNATURE,
    PartCheck,
    PartEntry,
    PartsIndex,
    check_part,
    part_directory_name,
    part_file_name,
    read_signed_index,
)
from airgapctl.bundle.verify import check_bundle
from airgapctl.errors import BadInputError, BundleForeignPartError, BundlePartMissingError, EnvironmentProblem

MIN_PART_SIZE = 1024
MAX_PARTS = 9999
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])(i?B)?|(B))?\s*", re.IGNORECASE)
_POWERS = {"K": 1, "M": 2, "G": 3, "T": 4}


@dataclass(frozen=True)
class SplitResult:
    out_dir: str
    bundle: str
    sequence: int
    archive_size: int
    part_size: int
    parts: tuple[str, ...]


@dataclass(frozen=True)
class JoinResult:
    out_dir: str
    bundle: str
    version: str
    sequence: int
    manifest_sha256: str
    parts: int
    files: int
    bytes: int


def parse_size(text: str) -> int:
    """Bytes in ``700M``, ``4G``, ``4GiB`` (powers of 1024), ``4GB`` (powers of 1000) or ``123456``."""
    match = _SIZE.fullmatch(str(text))
    if not match:
        raise BadInputError(f"invalid size {text!r}", hint="e.g. 700M, 4G, 4000MB or a number of bytes")
    number, unit, tail, _ = match.groups()
    base = 1000 if tail and tail.upper() == "B" else 1024
    size = int(float(number) * base ** _POWERS[unit.upper()]) if unit else int(float(number))
    if size < MIN_PART_SIZE:
        raise BadInputError(f"size {text!r} is below the {MIN_PART_SIZE}-byte minimum")
    return size


class _PartWriter:
    """A write-only stream that cuts what it is given into part files of ``part_size`` bytes."""

    def __init__(self, out_dir: Path, bundle: str, sequence: int, part_size: int) -> None:
        self.out_dir, self.bundle, self.sequence, self.part_size = out_dir, bundle, sequence, part_size
        self.parts: list[PartEntry] = []
        self.archive = hashlib.sha256()
        self.total = 0
        self.handle: BinaryIO | None = None
        self.written = 0

    def _open_next(self) -> None:
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise BadInputError(f"more than {MAX_PARTS} parts: choose a larger part size")
        directory = self.out_dir / part_directory_name(number)
        directory.mkdir(mode=0o755)
        self.handle = open(directory / part_file_name(self.bundle, self.sequence, number), "xb")  # noqa: SIM115
        self.digest, self.written = hashlib.sha256(), 0

    def _finish_part(self) -> None:
        assert self.handle is not None
        self.handle.flush()
        os.fsync(self.handle.fileno())  # media are pulled out right after: the part must be on them
        self.handle.close()
        name = Path(self.handle.name).name
        self.parts.append(PartEntry(len(self.parts) + 1, name, self.written, self.digest.hexdigest()))
        self.handle = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            if self.handle is None:
                self._open_next()
            chunk = view[: self.part_size - self.written]
            self.handle.write(chunk)
            self.digest.update(chunk)
            self.archive.update(chunk)
            self.written += len(chunk)
            self.total += len(chunk)
            view = view[len(chunk) :]
            if self.written == self.part_size:
                self._finish_part()
        return len(data)

    def tell(self) -> int:
        return self.total

    def close(self) -> None:
        if self.handle is not None:
            self._finish_part()


def split_bundle(bundle_dir: Path, out_dir: Path, part_size: int | str, private_key_path: Path) -> SplitResult:
    """Check the bundle, cut its archive into parts under ``out_dir``, sign the index beside each part."""
    root, part_size = bundle_root(bundle_dir), parse_size(part_size) if isinstance(part_size, str) else part_size
    if part_size < MIN_PART_SIZE:
        raise BadInputError(f"part size {part_size} is below the {MIN_PART_SIZE}-byte minimum")
    private_key = load_private_key(private_key_path)
    manifest, manifest_sha256 = check_bundle(root, private_key.public_key())  # only a sound bundle is split
    out = prepare_empty_directory(out_dir)
    writer = _PartWriter(out, manifest.name, manifest.sequence, part_size)
    try:
        write_archive(root, archive_members(root), writer)
        writer.close()
        index = PartsIndex(
            bundle=manifest.name,
            version=manifest.version,
            sequence=manifest.sequence,
            manifest_sha256=manifest_sha256,
            key_id=manifest.key_id,
            archive_size=writer.total,
            archive_sha256=writer.archive.hexdigest(),
            part_size=part_size,
            parts=tuple(writer.parts),
        )
        data = index.to_bytes()
        signature = sign_detached(private_key, data)
        for entry in index.parts:
            write_atomic(out / part_directory_name(entry.number) / PARTS_INDEX, data)
            write_atomic(out / part_directory_name(entry.number) / PARTS_SIGNATURE, signature)
    except OSError as error:  # a full medium or a write error: no half set of parts is left behind
        clear_directory(out)
        raise EnvironmentProblem(f"cannot write parts to {out}: {error}") from None
    except BaseException:
        clear_directory(out)
        raise
    names = tuple(f"{part_directory_name(e.number)}/{e.name}" for e in index.parts)
    return SplitResult(str(out), manifest.name, manifest.sequence, writer.total, part_size, names)


def verify_part(part_path: Path, public_key_path: Path) -> PartCheck:
    """Check one part (file or its directory) alone against the signed index beside it."""
    return check_part(part_path, load_public_key(public_key_path))


class _ChainReader:
    """The parts' bytes as one stream, in order, for the safe unpack."""

    def __init__(self, paths: list[Path]) -> None:
        self.pending = list(paths)
        self.current: BinaryIO | None = None

    def read(self, size: int) -> bytes:
        chunks, wanted = [], size
        while wanted > 0:
            if self.current is None:
                if not self.pending:
                    break
                self.current = open(self.pending.pop(0), "rb")  # noqa: SIM115
            chunk = self.current.read(min(wanted, COPY_CHUNK))
            if not chunk:
                self.current.close()
                self.current = None
                continue
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


def _check_same_bundle(checks: list[PartCheck]) -> None:
    reference = checks[0]
    for check in checks[1:]:
        if check.index_sha256 != reference.index_sha256:
            raise BundleForeignPartError(
                f"foreign part: {check.part} belongs to bundle {check.bundle} sequence {check.sequence} "
                f"(manifest {check.manifest_sha256[:12]}), but {reference.part} to bundle {reference.bundle} "
                f"sequence {reference.sequence} (manifest {reference.manifest_sha256[:12]})"
            )


def _ordered_parts(checks: list[PartCheck], index: PartsIndex) -> list[Path]:
    by_number: dict[int, PartCheck] = {}
    for check in checks:
        if check.number in by_number:
            raise BadInputError(f"part {check.number} given twice: {by_number[check.number].part} and {check.part}")
        by_number[check.number] = check
    missing = [entry for entry in index.parts if entry.number not in by_number]
    if missing:
        names = ", ".join(entry.name for entry in missing)
        raise BundlePartMissingError(
            f"part missing: {len(missing)} of {len(index.parts)} parts not given: {names}",
            hint="give every part of the bundle (each disc or stick)",
        )
    return [Path(by_number[number].part) for number in sorted(by_number)]


def join_parts(part_paths: list[Path], out_dir: Path, public_key_path: Path) -> JoinResult:
    """Check every part, then unpack them in order into ``out_dir``; verify_bundle comes next."""
    if not part_paths:
        raise BadInputError("no parts given")
    public_key = load_public_key(public_key_path)
    with ThreadPoolExecutor(max_workers=worker_count()) as pool:
        checks = list(pool.map(lambda path: check_part(path, public_key), part_paths))
    _check_same_bundle(checks)
    index, _ = read_signed_index(Path(checks[0].part).parent, public_key)
    ordered = _ordered_parts(checks, index)
    chain = _ChainReader(ordered)
    try:
        unpacked = unpack_stream(chain, out_dir, index.archive_size, DEFAULT_MAX_MEMBERS)
    finally:
        chain.close()
    joined = hashlib.sha256(read_regular_file(Path(out_dir) / MANIFEST_NAME, MANIFEST_LIMIT, "manifest"))
    if joined.hexdigest() != index.manifest_sha256:
        clear_directory(Path(out_dir))
        raise BundleForeignPartError(f"the joined manifest is not the one the part index names ({index.describe()})")
    return JoinResult(
        out_dir=str(out_dir),
        bundle=index.bundle,
        version=index.version,
        sequence=index.sequence,
        manifest_sha256=index.manifest_sha256,
        parts=len(ordered),
        files=unpacked.files,
        bytes=unpacked.bytes,
    )
