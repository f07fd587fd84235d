"""One thing preflight found wrong: what, where (file and place) and the fix, printed as one line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    what: str
    where: str
    fix: str

    def as_line(self) -> str:
        return f"{self.where}: {self.what} ({self.fix})"


def one_line(text: object) -> str:
    """Any message as one line: Ansible's and OpenSSL's errors span several."""
    return " ".join(str(text).split())


def first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def shown(path: str | os.PathLike[str]) -> str:
    """A path as the operator typed it: relative to the working directory when below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
