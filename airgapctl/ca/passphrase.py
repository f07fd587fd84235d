"""The passphrase that encrypts the CA key: from a file, the environment, or a prompt on a terminal.

It is held as a Passphrase, whose repr and str hide it, so that no message, log line or
traceback can carry it; it is never written anywhere.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from airgapctl.ca.files import read_bounded
from airgapctl.errors import BadInputError

ENV_VAR = "AIRGAPCTL_CA_PASSPHRASE"
# PKCS#8 encryption costs an attacker one PBKDF2 run per guess: the passphrase has to be long.
MIN_LENGTH = 12
FILE_LIMIT = 4096
HINT = f"give --passphrase-file FILE (mode 0600) or set {ENV_VAR}"


class Passphrase:
    """A passphrase that does not show itself: only ``reveal()`` gives its bytes."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value.decode("utf-8", "replace"))

    def __repr__(self) -> str:
        return "Passphrase(<hidden>)"

    __str__ = __repr__


def _on_terminal() -> bool:
    try:
        return os.isatty(sys.stdin.fileno()) and os.isatty(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):  # replaced or closed streams are no terminal
        return False


def _from_file(path: Path) -> bytes:
    data = read_bounded(path, FILE_LIMIT, "passphrase file")
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise BadInputError(
            f"passphrase file {path} is readable by group or others (mode {mode:04o})", hint=f"chmod 600 {path}"
        )
    # One line: the newline an editor or `echo` adds is not part of the passphrase.
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        raise BadInputError(f"passphrase file {path} is empty", hint="write the CA passphrase in it, on one line")
    return data


def _prompt(confirm: bool, ask: Callable[[str], str]) -> bytes:
    first = ask("CA passphrase: ")
    if confirm and ask("CA passphrase again: ") != first:
        raise BadInputError("the two passphrases differ", hint="run again and type the same passphrase twice")
    if not first:
        raise BadInputError("the CA passphrase is empty", hint=HINT)
    return first.encode("utf-8")


def read_passphrase(
    file: Path | None = None,
    *,
    confirm: bool = False,
    environ: Mapping[str, str] | None = None,
    ask: Callable[[str], str] | None = None,
) -> Passphrase:
    """The passphrase from ``file``, else from $AIRGAPCTL_CA_PASSPHRASE, else typed at a terminal (not echoed).

    ``confirm`` (a new CA) asks twice at a prompt. Without a terminal there is no prompt: a
    scheduled or piped run fails at once instead of hanging.
    """
    environ = os.environ if environ is None else environ
    if file is not None:
        return Passphrase(_from_file(Path(file)))
    if ENV_VAR in environ:
        value = environ[ENV_VAR]
        if not value:
            raise BadInputError(f"{ENV_VAR} is set but empty", hint=HINT)
        return Passphrase(value.encode("utf-8", "surrogateescape"))
    if _on_terminal():
        return Passphrase(_prompt(confirm, ask or getpass.getpass))
    raise BadInputError("no CA passphrase given, and no terminal to ask on", hint=HINT)


def check_new_passphrase(passphrase: Passphrase) -> None:
    """Refuse a passphrase too short to protect a new CA key."""
    if len(passphrase) < MIN_LENGTH:
        raise BadInputError(
            f"the CA passphrase has {len(passphrase)} characters; a new CA needs at least {MIN_LENGTH}",
            hint="choose a longer passphrase (several random words)",
        )
