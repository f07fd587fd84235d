"""The error tree and the exit codes: one place for every code a command can return."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum

from airgapctl.bundle import trust


class ExitCode(IntEnum):
    """Process exit codes, every one a command can return; the bundle trust codes are the trust core's."""

    OK = trust.OK
    # A check ran and found something (audit findings, validation failures).
    FAILED = trust.FAILED
    # Bad input on the command line or in a file the user gave us.
    BAD_INPUT = trust.BAD_INPUT
    # A host tool or service we depend on (Docker, debootstrap, apt) failed.
    ENVIRONMENT = trust.ENVIRONMENT
    # provision: a host failed or was unreachable, or ansible-playbook stopped before any host did.
    PROVISION_FAILED = 4
    # drift: a check-mode run of the site playbook found tasks that would change a host.
    DRIFT_FOUND = 5
    # Bundle trust (airgapctl/bundle/trust/): one code per rejection class, so scripts can tell them apart.
    # The manifest's or part index's signature is missing, malformed or wrong, or the key is unknown.
    BUNDLE_SIGNATURE = trust.SIGNATURE
    # A file the signed manifest lists is not in the bundle.
    BUNDLE_FILE_MISSING = trust.FILE_MISSING
    # The bundle holds a file or directory the signed manifest does not list.
    BUNDLE_FILE_EXTRA = trust.FILE_EXTRA
    # A listed file's size or SHA-256 differs from the signed manifest.
    BUNDLE_FILE_ALTERED = trust.FILE_ALTERED
    # The bundle's sequence is not newer than the last accepted one (rollback or replay).
    BUNDLE_ROLLBACK = trust.ROLLBACK
    # The bundle's signed expiry time has passed.
    BUNDLE_EXPIRED = trust.EXPIRED
    # A part (or a part's index) belongs to another bundle: mix-and-match of media.
    BUNDLE_FOREIGN_PART = trust.FOREIGN_PART
    # A symlink, hard link, device, fifo, path escape or size bomb in a bundle or archive.
    BUNDLE_UNSAFE_ENTRY = trust.UNSAFE_ENTRY
    # The import ledger's hash chain is broken: an entry was edited, removed or reordered.
    LEDGER_BROKEN = trust.LEDGER_BROKEN
    # A correctly signed manifest or part index does not match its schema.
    BUNDLE_MANIFEST_INVALID = trust.MANIFEST_INVALID
    # A part the signed part index lists was not given.
    BUNDLE_PART_MISSING = trust.PART_MISSING
    # A part's size or SHA-256 differs from the signed part index.
    BUNDLE_PART_ALTERED = trust.PART_ALTERED
    # verify --require-attestation: no passing test record, or roles/playbooks differ from the tested ones.
    BUNDLE_ATTESTATION = trust.ATTESTATION
    # The bundle's name is not the one the site takes (bundle verify --expect-name, the airgap_repo role).
    BUNDLE_UNEXPECTED_NAME = trust.UNEXPECTED_NAME
    # store maintain: the store's file system is below --min-free, so the collector is stopped until
    # space is freed (a failed unit in `systemctl --failed`); outside the trust core's range.
    COLLECTOR_PAUSED = 30


class AirgapError(Exception):
    """An expected failure: printed as one line plus a hint, never as a traceback."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInputError(AirgapError):
    exit_code = ExitCode.BAD_INPUT


class ProvisionFailedError(AirgapError):
    """A provision run did not complete on every host (its record says where it stopped)."""

    exit_code = ExitCode.PROVISION_FAILED


class DriftFoundError(AirgapError):
    """A drift check ran to its end and some host would change (the report says where and how)."""

    exit_code = ExitCode.DRIFT_FOUND


class EnvironmentProblem(AirgapError):
    """A host prerequisite is missing or failed (Docker daemon, debootstrap, apt sources)."""

    exit_code = ExitCode.ENVIRONMENT


class SpecInvalidError(AirgapError):
    """OpenAPI definitions have problems: ``issues`` holds every SpecIssue found (airgapctl.specs.model)."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, issues: list | tuple = (), hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.issues = tuple(issues)


class BundleRejectedError(AirgapError):
    """A bundle, part or archive failed a trust check; subclasses carry one exit code each."""


class BundleSignatureError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_SIGNATURE


class BundleFileMissingError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_FILE_MISSING


class BundleFileExtraError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_FILE_EXTRA


class BundleFileAlteredError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_FILE_ALTERED


class BundleRollbackError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_ROLLBACK


class BundleExpiredError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_EXPIRED


class BundleForeignPartError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_FOREIGN_PART


class BundleUnsafeEntryError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_UNSAFE_ENTRY


class LedgerBrokenError(AirgapError):
    exit_code = ExitCode.LEDGER_BROKEN


class BundleManifestInvalidError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_MANIFEST_INVALID


class BundlePartMissingError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_PART_MISSING


class BundlePartAlteredError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_PART_ALTERED


class BundleAttestationError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_ATTESTATION


class BundleUnexpectedNameError(BundleRejectedError):
    exit_code = ExitCode.BUNDLE_UNEXPECTED_NAME


class CollectorPausedError(AirgapError):
    """The store's disk guard holds the collector stopped: too little free space (airgapctl.logstore.guard)."""

    exit_code = ExitCode.COLLECTOR_PAUSED


class AuditFindingsError(AirgapError):
    """The audit ran and found something at or above --fail-on (the report says what)."""

    exit_code = ExitCode.FAILED


_TRUST_ERRORS: dict[int, type[AirgapError]] = {
    trust.BAD_INPUT: BadInputError,
    trust.ENVIRONMENT: EnvironmentProblem,
    trust.SIGNATURE: BundleSignatureError,
    trust.FILE_MISSING: BundleFileMissingError,
    trust.FILE_EXTRA: BundleFileExtraError,
    trust.FILE_ALTERED: BundleFileAlteredError,
    trust.ROLLBACK: BundleRollbackError,
    trust.EXPIRED: BundleExpiredError,
    trust.FOREIGN_PART: BundleForeignPartError,
    trust.UNSAFE_ENTRY: BundleUnsafeEntryError,
    trust.LEDGER_BROKEN: LedgerBrokenError,
    trust.MANIFEST_INVALID: BundleManifestInvalidError,
    trust.PART_MISSING: BundlePartMissingError,
    trust.PART_ALTERED: BundlePartAlteredError,
    trust.ATTESTATION: BundleAttestationError,
    trust.UNEXPECTED_NAME: BundleUnexpectedNameError,
}


def from_trust(error: trust.TrustError) -> AirgapError:
    """The AirgapError of a trust core failure: same message, hint and exit code."""
    return _TRUST_ERRORS.get(error.code, AirgapError)(error.message, hint=error.hint)


@contextmanager
def trust_errors() -> Iterator[None]:
    """Raise the trust core's failures inside the block as airgapctl's errors."""
    try:
        yield
    except trust.TrustError as error:
        raise from_trust(error) from None
