"""Debian packages for the target with exactly the dependencies its base lacks.

apt runs with a private state (lists, cache, status = the target's dpkg status), so the
build machine's own apt state is never touched, and the sources are a copy of the build
machine's (no mirror host is written anywhere by us). The result is published as a flat
local repository: pool/*.deb, Packages and a Release with a fixed date (same inputs, same
bytes).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airgapctl.bundle_build.watch import present_bytes, run_watched
from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.lab.apt_sources import APT_ETC
from airgapctl.lab.commands import require_program
from airgapctl.progress import NO_PROGRESS, Reporter

INST_LINE = re.compile(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) .*\[(\S+)\]\)", re.MULTILINE)
# --print-uris: 'URI' archive-file-name size hash, for each package not yet in the download cache.
URI_LINE = re.compile(r"^'[^']+' (\S+) (\d+)\b", re.MULTILINE)
RELEASE_DATE = "Thu, 01 Jan 1970 00:00:00 UTC"  # fixed: the signed manifest carries the real time


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    architecture: str
    filename: str  # relative to the repository root: pool/<file>.deb
    size: int
    sha256: str


@dataclass(frozen=True)
class AptRequest:
    packages: tuple[str, ...]
    baseline_status: Path  # the target base's /var/lib/dpkg/status
    architecture: str = "amd64"


def _private_state(cache_dir: Path, request: AptRequest) -> list[str]:
    """apt options that confine every read and write to cache_dir, with the target's status."""
    etc = cache_dir / "etc"
    (etc / "sources.list.d").mkdir(parents=True, exist_ok=True)
    (etc / "preferences.d").mkdir(exist_ok=True)
    for source in sorted(APT_ETC.glob("sources.list.d/*")):
        if source.suffix in (".list", ".sources"):
            shutil.copyfile(source, etc / "sources.list.d" / source.name)
    if (APT_ETC / "sources.list").is_file():
        shutil.copyfile(APT_ETC / "sources.list", etc / "sources.list.d" / "host.list")
    for sub in ("lists/partial", "archives/partial"):
        (cache_dir / sub).mkdir(parents=True, exist_ok=True)
    return [
        f"-oDir::State={cache_dir}",
        f"-oDir::State::Lists={cache_dir / 'lists'}",
        f"-oDir::State::status={request.baseline_status.resolve()}",
        f"-oDir::State::extended_states={cache_dir / 'extended_states'}",
        f"-oDir::Cache={cache_dir}",
        f"-oDir::Cache::archives={cache_dir / 'archives'}",
        "-oDir::Etc::SourceList=/dev/null",
        f"-oDir::Etc::SourceParts={etc / 'sources.list.d'}",
        f"-oDir::Etc::PreferencesParts={etc / 'preferences.d'}",
        f"-oAPT::Architecture={request.architecture}",
        "-oDebug::NoLocking=1",
        "-oAPT::Install-Recommends=false",
    ]


def _apt_get(options: list[str], *args: str, tick: Callable[[], None] | None = None) -> str:
    argv = [require_program("apt-get", "apt"), *options, *args]
    if tick is None:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    else:
        proc = run_watched(argv, tick)
    if proc.returncode != 0:
        missing = re.search(
            r"Unable to locate package (\S+)|Package '?(\S+?)'? has no installation candidate", proc.stderr
        )
        if missing:
            name = missing.group(1) or missing.group(2)
            raise BadInputError(f"apt.packages: unknown package {name!r}", hint="check the name with apt-cache search")
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise EnvironmentProblem(f"apt-get {args[0]} failed: {last[0]}", hint="check apt sources (apt-get update)")
    return proc.stdout


def fetch_debs(
    request: AptRequest, cache_dir: Path, repo_dir: Path, progress: Reporter = NO_PROGRESS
) -> list[DebPackage]:
    """Resolve the closure against the baseline, download into the cache, copy into repo_dir/pool."""
    if not request.baseline_status.is_file():
        raise BadInputError(
            f"apt.baseline: {request.baseline_status} does not exist", hint="give the target's dpkg status"
        )
    options = _private_state(cache_dir, request)
    _apt_get(options, "update", "-q")
    plan = _apt_get(options, "install", "--simulate", "-q", *request.packages)
    _download(options, request, cache_dir / "archives", len(INST_LINE.findall(plan)), progress)
    pool = repo_dir / "pool"
    pool.mkdir(parents=True, exist_ok=True)
    packages = []
    for name, version, arch in sorted(INST_LINE.findall(plan)):
        deb = _cached_deb(cache_dir / "archives", name, version, arch)
        # Pool names drop the epoch, as Debian's do: a ':' or '%3a' would be mangled in file: URIs.
        target = pool / f"{name}_{version.split(':', 1)[-1]}_{arch}.deb"
        shutil.copyfile(deb, target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        packages.append(DebPackage(name, version, arch, f"pool/{target.name}", target.stat().st_size, digest))
    return packages


def _download(options: list[str], request: AptRequest, archives: Path, planned: int, progress: Reporter) -> None:
    """apt-get --download-only, with a bar over what the cache lacks (apt names it and its sizes)."""
    install = ("install", "--download-only", "-y", "-q", *request.packages)
    listing = _apt_get(options, "install", "--print-uris", "-y", "-q", *request.packages)
    missing = {name: int(size) for name, size in URI_LINE.findall(listing)}
    if not missing:
        progress.note(f"apt: all {planned} packages are in the download cache")
        _apt_get(options, *install)
        return
    with progress.bar("apt download", sum(missing.values()), len(missing), "packages") as bar:

        def tick() -> None:  # a finished .deb sits in archives/, one on its way in archives/partial/
            finished, count = present_bytes(archives / name for name in missing)
            partial, _ = present_bytes(archives / "partial" / name for name in missing)
            bar.update(finished + partial, count)

        _apt_get(options, *install, tick=tick)


def _cached_deb(archives: Path, name: str, version: str, arch: str) -> Path:
    # apt escapes ':' in epochs as %3a in file names.
    candidate = archives / f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
    if not candidate.is_file():
        raise EnvironmentProblem(f"apt planned {name} {version} but {candidate.name} was not downloaded")
    return candidate


def publish_repository(repo_dir: Path) -> None:
    """Write Packages and Release for a flat repository (deb [trusted=yes] file:REPO ./)."""
    ftparchive = require_program("apt-ftparchive", "apt-utils")
    packages = subprocess.run([ftparchive, "packages", "pool"], cwd=repo_dir, capture_output=True, check=True).stdout
    (repo_dir / "Packages").write_bytes(packages)
    release = subprocess.run(
        [ftparchive, f"-oAPT::FTPArchive::Release::Date={RELEASE_DATE}", "release", "."],
        cwd=repo_dir, capture_output=True, check=True,
    ).stdout  # fmt: skip
    (repo_dir / "Release").write_bytes(release)
