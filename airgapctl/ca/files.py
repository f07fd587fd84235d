"""File access for the CA directory: every write atomic or new-only, private modes, one writer at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from airgapctl.durable import fsync_directory
from airgapctl.errors import AirgapError, BadInputError, EnvironmentProblem

PRIVATE = 0o600
PUBLIC = 0o644
PRIVATE_DIR = 0o700
LOCK_NAME = ".lock"


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data``: a reader, or a crash, leaves the old or the new content, never a mix."""
    path = Path(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise EnvironmentProblem(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # before the data: a key is never readable by others, even briefly
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise EnvironmentProblem(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_directory(path.parent)


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, so that nothing already there is ever replaced.

    Written under a temporary name and linked into place: the name appears complete or not at all.
    """
    path = Path(path)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise EnvironmentProblem(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # fails if the name exists, unlike rename
    except FileExistsError:
        raise BadInputError(
            f"{path} already exists; refusing to overwrite it", hint="remove it or choose another place"
        ) from None
    except OSError as error:
        raise EnvironmentProblem(f"cannot write {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    fsync_directory(path.parent)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) as a directory only its owner can enter, or tighten an existing one."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode is narrowed by the umask; an existing directory keeps its own
    except OSError as error:
        raise EnvironmentProblem(f"cannot create directory {path}: {error.strerror}") from None


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file (or pipe) ``path``, at most ``limit`` of them."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise BadInputError(f"{what} {path} is a directory", hint="give the file itself")
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise BadInputError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise BadInputError(f"{what} {path} is a directory", hint="give the file itself") from None
    except OSError as error:
        raise BadInputError(f"cannot read {what} {path}: {error.strerror}") from None
    if len(data) > limit:
        raise BadInputError(f"{what} {path} is larger than {limit} bytes", hint=f"is {path} really the {what}?")
    return data


@contextlib.contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """Hold the CA directory's lock: two commands never interleave their index and CRL writes."""
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE)
    except OSError as error:
        raise EnvironmentProblem(f"cannot open {directory / LOCK_NAME}: {error.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AirgapError(
                f"{directory} is in use by another 'airgapctl ca' command", hint="wait for it to finish and run again"
            ) from None
        yield
    finally:
        os.close(fd)
