"""Careful file access for trust decisions: no symlink following, atomic replacement, fsync."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from airgapctl.errors import BadInputError, BundleUnsafeEntryError, EnvironmentProblem


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refusing a symlink, a non-regular file or one larger than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)  # a fifo must not block us
    except FileNotFoundError:
        raise BadInputError(f"{what} {path} does not exist") from None
    except OSError as error:
        if os.path.islink(path):
            raise BundleUnsafeEntryError(f"{what} {path} is a symlink; refusing to follow it") from None
        raise BadInputError(f"cannot read {what} {path}: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BundleUnsafeEntryError(f"{what} {path} is not a regular file")
        if info.st_size > limit:
            raise BadInputError(f"{what} {path} is {info.st_size} bytes, more than the {limit} allowed")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BadInputError(f"{what} {path} grew past {limit} bytes while being read")
    return data


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new content, never a mix."""
    path = Path(path)
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise EnvironmentProblem(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def create_new_file(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet (keys): O_EXCL, so an existing file is never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except FileExistsError:
        raise BadInputError(f"{path} already exists; refusing to overwrite it", hint="choose another path") from None
    except OSError as error:
        raise BadInputError(f"cannot create {path}: {error.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask must not widen or narrow what we promise
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def prepare_empty_directory(path: Path) -> Path:
    """Create ``path`` (or accept it empty): outputs never merge with what a directory already holds."""
    path = Path(path)
    if path.is_symlink():
        raise BadInputError(f"output directory {path} is a symlink")
    if path.exists():
        if not path.is_dir():
            raise BadInputError(f"output {path} exists and is not a directory")
        if any(path.iterdir()):
            raise BadInputError(f"output directory {path} is not empty", hint="give a new or empty directory")
        return path
    path.mkdir(parents=True, mode=0o755)
    return path


def clear_directory(path: Path) -> None:
    """Remove everything inside ``path`` without following symlinks (fail closed: no half outputs)."""
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            clear_directory(Path(entry.path))
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)


def bundle_root(bundle_dir: Path) -> Path:
    """The bundle directory given, which must exist as a directory."""
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BadInputError(f"bundle directory {root} does not exist or is not a directory")
    return root
