"""One-file bundle archives: a deterministic tar (optionally gzip) out, a defensive unpack in.

pack: regular files only, manifest.json and its signature first, then every path sorted;
mtime 0, owner 0:0 without names, mode 0644, PAX format; gzip with mtime 0 and no file name.
Packing the same bundle twice gives the same bytes.

unpack never calls tarfile's extract: it writes each member itself, into a new or empty
directory, after refusing absolute paths, '..' and other non-canonical names, symlinks, hard
links, devices, fifos, sparse files, duplicates, more members or bytes than the limits, and
members larger than the (first-member) manifest claims. On any refusal the destination is
emptied, so no half bundle is left to be used. Unpacking does not verify: run verify_bundle.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from airgapctl.bundle.fileio import bundle_root, clear_directory, prepare_empty_directory
from airgapctl.bundle.hashing import list_tree
from airgapctl.bundle.manifest import MANIFEST_LIMIT, MANIFEST_NAME, SIGNATURE_NAME, is_safe_relative_path
from airgapctl.errors import BadInputError, BundleUnsafeEntryError, EnvironmentProblem

DEFAULT_MAX_TOTAL_BYTES = 64 << 30
DEFAULT_MAX_MEMBERS = 200_000
COPY_CHUNK = 1 << 20
# tarfile reads a pax or GNU long-name header in one read: larger ones are refused unread.
READ_LIMIT = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
_TYPE_NAMES = {
    tarfile.SYMTYPE: "a symlink",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a fifo",
    tarfile.CONTTYPE: "a contiguous file",
}


@dataclass(frozen=True)
class PackResult:
    archive: str
    files: int
    bytes: int
    compressed: bool


@dataclass(frozen=True)
class UnpackResult:
    dest: str
    files: int
    bytes: int


def archive_members(root: Path) -> list[str]:
    """The files of a sealed bundle in archive order: manifest, signature, then sorted paths."""
    listing = list_tree(root)
    if listing.empty_dirs:
        raise BadInputError(f"empty directory {listing.empty_dirs[0]} in {root} is not part of any bundle")
    for required in (MANIFEST_NAME, SIGNATURE_NAME):
        if required not in listing.files:
            raise BadInputError(f"{root} has no {required}: seal it first", hint="airgapctl bundle seal")
    rest = sorted(set(listing.files) - {MANIFEST_NAME, SIGNATURE_NAME})
    return [MANIFEST_NAME, SIGNATURE_NAME, *rest]


def write_archive(root: Path, members: list[str], out: BinaryIO) -> None:
    """Write ``members`` of ``root`` as an uncompressed tar stream to ``out``."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in members:
            fd = os.open(root / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with open(fd, "rb") as source:
                info = tarfile.TarInfo(rel)
                info.size = os.fstat(fd).st_size
                info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, 0, "", ""
                tar.addfile(info, source)


def pack_bundle(bundle_dir: Path, out_tar: Path) -> PackResult:
    """Pack a sealed bundle into one tar (gzip when ``out_tar`` ends in .gz or .tgz)."""
    root, out_tar = bundle_root(bundle_dir), Path(out_tar)
    if out_tar.resolve().is_relative_to(root.resolve()):
        raise BadInputError(f"archive {out_tar} would be inside the bundle it packs")
    members = archive_members(root)
    compressed = out_tar.name.endswith((".gz", ".tgz"))
    temp = out_tar.with_name(f".{out_tar.name}.partial")
    try:
        with open(temp, "wb") as raw:
            if compressed:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
                    write_archive(root, members, zipped)
            else:
                write_archive(root, members, raw)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temp, out_tar)
    except OSError as error:
        raise EnvironmentProblem(f"cannot write archive {out_tar}: {error}") from None
    finally:
        temp.unlink(missing_ok=True)
    return PackResult(str(out_tar), len(members), out_tar.stat().st_size, compressed)


class _RefusingSparseTarInfo(tarfile.TarInfo):
    """tarfile's own comments invite subclasses to take over its _proc_* steps: sparse members
    are refused before their maps are read, since a sparse map can be made arbitrarily long."""

    def _refuse(self, name: str) -> None:
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} is a sparse file")

    def _proc_sparse(self, tarfile):
        self._refuse(self.name)

    def _proc_gnusparse_00(self, next, pax_headers, buf):
        self._refuse(next.name)

    def _proc_gnusparse_01(self, next, pax_headers):
        self._refuse(next.name)

    def _proc_gnusparse_10(self, next, pax_headers, tarfile):
        self._refuse(next.name)


class _GuardedReader:
    """A forward-only view of the archive stream that refuses oversized single reads."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.position = 0
        self.after_member = "the start of the archive"

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > READ_LIMIT:
            raise BundleUnsafeEntryError(
                f"unsafe archive entry: an extended header of {size} bytes after {self.after_member} "
                f"(more than {READ_LIMIT})"
            )
        data = self.raw.read(size)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence != os.SEEK_SET or offset < self.position:
            raise BundleUnsafeEntryError(f"archive asks to seek backwards after {self.after_member}")
        while self.position < offset and self.read(min(COPY_CHUNK, offset - self.position)):
            pass
        return self.position


@dataclass
class _Budget:
    """Limits that tighten once the (untrusted) manifest says what sizes to expect."""

    max_total_bytes: int
    max_members: int
    members: int = 0
    total_bytes: int = 0
    claimed_sizes: dict[str, int] | None = None


def _member_path(member: tarfile.TarInfo) -> str:
    name = member.name
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE):
        what = _TYPE_NAMES.get(member.type, f"of tar type {member.type!r}")
        target = f" to {member.linkname!r}" if member.linkname else ""
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} is {what}{target}")
    if name.startswith("/"):
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} is an absolute path")
    if ".." in name.split("/"):
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} climbs out of the destination with '..'")
    if not is_safe_relative_path(name):
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} is not a plain relative path")
    return name


def _charge(budget: _Budget, name: str, size: int) -> None:
    budget.members += 1
    if budget.members > budget.max_members:
        raise BundleUnsafeEntryError(f"unsafe archive: more than {budget.max_members} members (at {name!r})")
    claimed = (budget.claimed_sizes or {}).get(name)
    if claimed is not None and size > claimed:
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} is {size} bytes, the manifest lists {claimed}")
    budget.total_bytes += size
    if budget.total_bytes > budget.max_total_bytes:
        raise BundleUnsafeEntryError(
            f"unsafe archive entry: {name!r} takes the unpacked size past the {budget.max_total_bytes}-byte limit"
        )


def _learn_manifest(path: Path, budget: _Budget) -> None:
    """Read the claimed sizes from the first member; wrong claims are caught later by verification."""
    try:
        files = json.loads(path.read_bytes())["files"]
        sizes = {f["path"]: int(f["size"]) for f in files}
    except (ValueError, KeyError, TypeError, RecursionError):
        return
    budget.claimed_sizes = sizes
    limit = budget.total_bytes + sum(sizes.values()) + 1024  # + the signature, which comes next
    budget.max_total_bytes = min(budget.max_total_bytes, limit)


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise BundleUnsafeEntryError(f"unsafe archive entry: {member.name!r} appears twice") from None
    written = 0
    with open(fd, "wb") as out, tar.extractfile(member) as source:
        while chunk := source.read(COPY_CHUNK):
            written += out.write(chunk)
    if written != member.size:
        raise BundleUnsafeEntryError(f"archive is truncated: member {member.name!r} ends early")


def _make_parents(dest: Path, name: str) -> Path:
    target = dest / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    except (FileExistsError, NotADirectoryError):
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} collides with an earlier file") from None
    return target


def _make_directory(target: Path, name: str) -> None:
    try:
        target.mkdir(exist_ok=True, mode=0o755)
    except FileExistsError:
        raise BundleUnsafeEntryError(f"unsafe archive entry: {name!r} collides with an earlier file") from None


def _extract_stream(raw: BinaryIO, dest: Path, budget: _Budget) -> UnpackResult:
    """Unpack the tar stream ``raw`` into the empty directory ``dest`` (the caller cleans up on error)."""
    guarded = _GuardedReader(raw)
    files = 0
    try:
        with tarfile.open(fileobj=guarded, mode="r:", tarinfo=_RefusingSparseTarInfo) as tar:
            while (member := tar.next()) is not None:
                tar.members.clear()  # tarfile keeps every header otherwise: memory grows with members
                name = _member_path(member)
                _charge(budget, name, member.size)
                target = _make_parents(dest, name)
                if member.isdir():
                    _make_directory(target, name)
                else:
                    _write_member(tar, member, target)
                    files += 1
                if budget.members == 1 and name == MANIFEST_NAME and member.size <= MANIFEST_LIMIT:
                    _learn_manifest(target, budget)
                guarded.after_member = f"member {name!r}"
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise BundleUnsafeEntryError(f"archive is corrupt after {guarded.after_member}: {error}") from None
    return UnpackResult(str(dest), files, budget.total_bytes)


def tar_stream(raw: BinaryIO) -> BinaryIO:
    """The tar stream in ``raw``: gzip is recognised by its magic bytes, not by a file name."""
    magic = raw.read(2)
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw, mode="rb") if magic == GZIP_MAGIC else raw


def unpack_stream(
    raw: BinaryIO, dest: Path, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES, max_members: int = DEFAULT_MAX_MEMBERS
) -> UnpackResult:
    """Unpack the tar stream ``raw`` into a new or empty ``dest``; on any refusal ``dest`` is left empty."""
    dest = prepare_empty_directory(dest)
    try:
        return _extract_stream(raw, dest, _Budget(max_total_bytes, max_members))
    except BaseException:
        clear_directory(dest)
        raise


def unpack_bundle(
    archive: Path,
    dest: Path,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> UnpackResult:
    """Unpack the tar (or tar.gz) ``archive`` safely into a new or empty ``dest``; it is not verified."""
    archive = Path(archive)
    if archive.is_symlink() or not archive.is_file():
        raise BadInputError(f"archive {archive} is not a regular file")
    with open(archive, "rb") as raw:
        return unpack_stream(tar_stream(raw), dest, max_total_bytes, max_members)
