"""Careful file access for trust decisions: no symlink following, atomic replacement, fsync."""

from __future__ import annotations

import os
from pathlib import Path

from airgapctl.bundle import trust
from airgapctl.errors import BadInputError, trust_errors


def read_regular_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refusing a symlink, a non-regular file or one larger than ``limit``."""
    with trust_errors():
        return trust.read_regular_file(path, limit, what)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    trust.fsync_directory(directory)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old or the new content, never a mix."""
    with trust_errors():
        trust.write_atomic(path, data, mode)


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
