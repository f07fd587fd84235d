"""Remember validation verdicts, so an unchanged spec is not validated again.

An entry is one small JSON file named by two keys: the root file's (its bytes and the
validator's versions) and the whole tree's (every file's digest); verdicts.py says what it
holds and when it still applies. Entries are written 0600 in a 0700 directory, atomically;
any entry that cannot be read counts as a miss, and a cache that cannot be written is
skipped, since it only ever saves time.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENTRY_FORMAT = 3


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/airgapctl/specs``, or ``~/.cache/airgapctl/specs``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative value.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "airgapctl" / "specs"


class VerdictCache:
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def entries(self, root_key: str) -> Iterator[dict[str, Any]]:
        """Every readable entry written for this root key (one per spec tree the root was read with)."""
        prefix = f"{root_key}."
        try:
            names = [entry.name for entry in os.scandir(self.directory) if entry.name.startswith(prefix)]
        except OSError:
            return
        for name in sorted(names):
            try:
                entry = json.loads((self.directory / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(entry, dict) and entry.get("format") == ENTRY_FORMAT and entry.get("key") == name[:-5]:
                yield entry

    def write(self, root_key: str, tree_key: str, entry: dict[str, Any]) -> None:
        key = f"{root_key}.{tree_key}"
        entry = {**entry, "format": ENTRY_FORMAT, "key": key}
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".entry-", suffix=".json")  # 0600
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(entry, stream, sort_keys=True, ensure_ascii=False)
                os.replace(temporary, self.directory / f"{key}.json")
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            return  # read-only home, full disk: validation still happened, only the saving is lost
