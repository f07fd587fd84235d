"""Find the Debian mirror this host's apt already uses, so no host name is ever hard-coded."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from airgapctl.errors import EnvironmentProblem

APT_ETC = Path("/etc/apt")
MIRROR_ENV = "AIRGAPCTL_DEBIAN_MIRROR"


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    origin: str  # the file the entry came from, for messages


def parse_deb822(text: str, origin: str) -> list[AptSource]:
    """Parse a deb822 ``.sources`` file (stanzas of ``Key: value`` separated by blank lines)."""
    sources = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            sources.append(
                AptSource(
                    uri, tuple(fields.get("suites", "").split()), tuple(fields.get("components", "").split()), origin
                )
            )
    return sources


def parse_one_line(text: str, origin: str) -> list[AptSource]:
    """Parse the classic ``deb [options] URI suite component...`` format."""
    sources = []
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            sources.append(AptSource(words[1], (words[2],), tuple(words[3:]), origin))
    return sources


def host_sources(apt_etc: Path = APT_ETC) -> list[AptSource]:
    found: list[AptSource] = []
    main_list = apt_etc / "sources.list"
    if main_list.is_file():
        found += parse_one_line(main_list.read_text(), str(main_list))
    parts = apt_etc / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                found += parse_one_line(path.read_text(), str(path))
            elif path.suffix == ".sources":
                found += parse_deb822(path.read_text(), str(path))
    return found


def debian_mirror(suite: str = "bookworm", apt_etc: Path = APT_ETC) -> str:
    """The URI of the first configured source that carries ``suite`` with ``main``."""
    override = os.environ.get(MIRROR_ENV)
    if override:
        return override
    for source in host_sources(apt_etc):
        if suite in source.suites and "main" in source.components:
            return source.uri
    raise EnvironmentProblem(
        f"no apt source for Debian {suite} main in {apt_etc}/sources.list or {apt_etc}/sources.list.d/",
        hint=f"add a Debian {suite} source to apt, or set {MIRROR_ENV} to a Debian mirror URI",
    )
