"""Remember validation verdicts, so an unchanged spec is not validated again.

An entry is one small JSON file named by the key (the spec's digest and the validator's
versions): the verdict and its issues, never the spec. Entries are written 0600 in a 0700
directory, atomically; any entry that cannot be read counts as a miss, and a cache that
cannot be written is skipped, since it only ever saves time.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

ENTRY_FORMAT = 1


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/airgapctl/specs``, or ``~/.cache/airgapctl/specs``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative value.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "airgapctl" / "specs"


class VerdictCache:
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def _entry(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def read(self, key: str) -> list[dict[str, str]] | None:
        """The issues recorded for ``key`` ([] for a valid spec), or None when there is no usable entry."""
        try:
            entry = json.loads(self._entry(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not _is_entry(entry, key):
            return None
        return entry["issues"]

    def write(self, key: str, issues: list[dict[str, str]]) -> None:
        entry = {"format": ENTRY_FORMAT, "key": key, "valid": not issues, "issues": issues}
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".entry-", suffix=".json")  # 0600
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(entry, stream, sort_keys=True)
                os.replace(temporary, self._entry(key))
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            return  # read-only home, full disk: validation still happened, only the saving is lost


def _is_entry(entry: Any, key: str) -> bool:
    if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT or entry.get("key") != key:
        return False
    issues = entry.get("issues")
    return isinstance(issues, list) and all(
        isinstance(issue, dict) and all(isinstance(issue.get(k), str) for k in ("file", "pointer", "message"))
        for issue in issues
    )
