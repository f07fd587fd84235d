"""Tarballs whose bytes depend only on the files' names and contents (same inputs, same hash)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
    return info


def write_tar_gz(source: Path, out: Path, prefix: str = "") -> None:
    """Pack ``source``'s regular files and directories (sorted, no links) into ``out``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(source.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()) or "__pycache__" in path.parts:
                continue
            name = f"{prefix}{path.relative_to(source).as_posix()}"
            info = _normalised(tar.gettarinfo(str(path), arcname=name))
            if path.is_file():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    with out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
        zipped.write(buffer.getvalue())
