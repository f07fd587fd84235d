"""Signed data packages that cross the gap outward: export at the site, import on the other side.

A package is a directory laid out as a bundle is: the declared files, ``manifest.json`` (the
bundle manifest format with ``"kind": "package"``, its name the site's) and the detached
signature ``manifest.json.sig`` by the site's key. It is sealed by the bundle's sealing code
and checked by the bundle's trust core (airgapctl/bundle/trust/), with the same rejection
classes, exit codes and ledger entries; only the kind differs, so neither command takes the
other's media.

Neither side leaves half a result: the export is built in a hidden directory beside ``--out``
and renamed into place once signed; the import copies the verified files into a hidden
directory beside ``--dest``, checks that copy again and renames it into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from airgapctl.bundle import trust
from airgapctl.bundle.keys import load_private_key, signature_ok
from airgapctl.bundle.ledger import Attempt, append_attempt, check_appendable
from airgapctl.bundle.manifest import MANIFEST_NAME, SIGNATURE_NAME, manifest_from_document, seal_bundle
from airgapctl.errors import BadInputError, EnvironmentProblem, trust_errors
from airgapctl.sync.sources import Source, expand, refuse_secret_content

KIND = "package"
FILE_KIND = "file"
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExportResult:
    out_dir: str
    site: str
    version: str
    sequence: int
    key_id: str
    manifest_sha256: str
    created: str
    files: tuple[str, ...]
    total_bytes: int
    ledger: str | None


@dataclass(frozen=True)
class ImportResult:
    package_dir: str
    dest: str
    site: str
    version: str
    sequence: int
    key_id: str
    manifest_sha256: str
    created: str
    files: int
    total_bytes: int
    # The last accepted sequence of this site's packages (None: the first, or no state given).
    previous_sequence: int | None
    sequence_checked: bool
    ledger: str | None
    warnings: tuple[str, ...] = ()


def _new_output(path: Path, what: str) -> Path:
    """``path`` for a result renamed into place: absent or an empty directory, never a link."""
    path = Path(path)
    if path.is_symlink():
        raise BadInputError(f"{what} {path} is a symlink")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BadInputError(f"{what} {path} exists and is not an empty directory", hint="give a new directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EnvironmentProblem(f"cannot create {path.parent}: {error.strerror}") from None
    return path


@contextlib.contextmanager
def _staging(final: Path):
    """A hidden directory beside ``final``, removed unless the caller renamed it into place."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    except OSError as error:
        raise EnvironmentProblem(f"cannot write beside {final}: {error.strerror}") from None
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, final: Path) -> None:
    """Rename the finished ``staging`` to ``final`` (an empty directory there is replaced) durably.

    It keeps mkdtemp's mode 0700: what a site sends out is for its operator to hand on."""
    os.rename(staging, final)
    trust.fsync_directory(final.parent)


def _copy(source: Path, target: Path, limit: int | None = None) -> None:
    """Copy the regular file ``source`` (never through a link) to the new file ``target``, fsynced;
    with ``limit``, stop after one byte more than that (the check that follows refuses the copy)."""
    try:
        reading = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        code = trust.UNSAFE_ENTRY if os.path.islink(source) else trust.BAD_INPUT
        raise trust.TrustError(code, f"cannot read {source}: {error.strerror}") from None
    with open(reading, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise trust.TrustError(trust.UNSAFE_ENTRY, f"{source} is not a regular file")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            writing = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
        except OSError as error:
            raise trust.TrustError(trust.ENVIRONMENT, f"cannot write {target}: {error.strerror}") from None
        with open(writing, "wb") as dst:
            left = None if limit is None else limit + 1
            while chunk := src.read(_COPY_CHUNK if left is None else min(_COPY_CHUNK, left)):
                dst.write(chunk)
                left = None if left is None else left - len(chunk)
            dst.flush()
            os.fsync(dst.fileno())


def _declared_files(sources: Iterable[Source]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for source in sources:
        for name, local in expand(source).items():
            if name in files:
                raise BadInputError(f"package path {name} is declared twice")
            files[name] = local
    if not files:
        raise BadInputError("nothing to export: no source declared", hint="give --include NAME=PATH or --from-list")
    names = set(files)
    for name in files:
        parents = {"/".join(name.split("/")[:depth]) for depth in range(1, name.count("/") + 1)}
        if parents & names:
            raise BadInputError(f"package path {name} lies below {sorted(parents & names)[0]}, a file")
    return files


def _version_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def export_package(
    out_dir: Path,
    sources: Iterable[Source],
    key: Path,
    site: str,
    now: datetime | None = None,
    sequence: int | None = None,
    expires: datetime | str | None = None,
    ledger_path: Path | None = None,
) -> ExportResult:
    """Pack the declared ``sources`` into the new directory ``out_dir`` and sign it with ``key``.

    The sequence defaults to the creation time in seconds since 1970, which only grows. With
    a ledger, the export is appended (result ``exported``) before the package appears.
    """
    now = now or datetime.now(UTC)
    load_private_key(key)  # a bad key fails before anything is copied
    files = _declared_files(sources)
    out = _new_output(Path(out_dir), "output directory")
    if ledger_path is not None:
        check_appendable(ledger_path)
    with _staging(out) as staging:
        for name, local in files.items():
            with trust_errors():
                _copy(local, staging / name)
            refuse_secret_content(name, staging / name)
        sealed = seal_bundle(staging, site, _version_of(now), sequence or int(now.timestamp()), key,
                             lambda _: FILE_KIND, expires=expires, created=now, kind=KIND)  # fmt: skip
        digest = trust.hash_file(staging / MANIFEST_NAME)[1]
        if ledger_path is not None:
            attempt = Attempt(str(out), sealed.name, sealed.version, sealed.sequence, digest, sealed.key_id)
            reason = f"data package exported: {len(sealed.files)} files, {sealed.total_size} bytes"
            append_attempt(ledger_path, attempt, "exported", reason, trust.OK, trust.format_utc(now))
        _publish(staging, out)
    return ExportResult(
        out_dir=str(out),
        site=sealed.name,
        version=sealed.version,
        sequence=sealed.sequence,
        key_id=sealed.key_id,
        manifest_sha256=digest,
        created=sealed.created,
        files=tuple(entry.path for entry in sealed.files),
        total_bytes=sealed.total_size,
        ledger=None if ledger_path is None else str(ledger_path),
    )


def _copy_verified(package: Path, staging: Path, raw_key: bytes):
    """The trust core's ``after_files`` step: copy what was just verified, then verify the copy, which
    nobody else writes, so that what lands in the destination is what was signed."""

    def copy(manifest: dict) -> None:
        for name in (MANIFEST_NAME, SIGNATURE_NAME):
            _copy(package / name, staging / name, trust.MANIFEST_LIMIT)
        for entry in manifest["files"]:
            _copy(package / entry["path"], staging / entry["path"], entry["size"])
        staged, _ = trust.read_signed_manifest(str(staging), raw_key, signature_ok)
        if staged != manifest:
            raise trust.TrustError(trust.FILE_ALTERED, f"{MANIFEST_NAME} changed while the package was imported")
        trust.check_files(str(staging), staged["files"])

    return copy


def import_package(
    package_dir: Path,
    public_key_path: Path,
    dest: Path,
    ledger_path: Path | None = None,
    state_dir: Path | None = None,
    expected_site: str | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Verify ``package_dir`` as bundle verify does (but as a package), then place it in ``dest``.

    ``dest`` (new or empty) gets the package's files with its manifest and signature, so it can
    be checked again later. Every attempt is recorded in ``ledger_path`` when given; with
    ``state_dir`` a package not newer than the last accepted of its site is refused.
    """
    with trust_errors():
        raw_key = trust.read_public_key(Path(public_key_path))
    package, target = Path(package_dir), _new_output(Path(dest), "destination")
    with _staging(target) as staging:
        with trust_errors():
            verdict = trust.verify(
                str(package),
                Path(public_key_path),
                signature_ok,
                now or datetime.now(UTC),
                state_dir=state_dir,
                ledger=ledger_path,
                after_files=_copy_verified(package, staging, raw_key),
                expected_name=expected_site,
                kind=KIND,
            )
        _publish(staging, target)
    manifest = manifest_from_document(verdict.manifest, MANIFEST_NAME)
    return ImportResult(
        package_dir=str(package),
        dest=str(target),
        site=manifest.name,
        version=manifest.version,
        sequence=manifest.sequence,
        key_id=manifest.key_id,
        manifest_sha256=verdict.manifest_sha256,
        created=manifest.created,
        files=len(manifest.files),
        total_bytes=manifest.total_size,
        previous_sequence=verdict.previous_sequence,
        sequence_checked=verdict.sequence_checked,
        ledger=None if ledger_path is None else str(ledger_path),
        warnings=tuple(verdict.warnings),
    )
