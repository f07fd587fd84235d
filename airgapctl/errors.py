"""The error tree and the exit codes: one place for every code a command can return."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes. Each issue adds its codes here, never elsewhere."""

    OK = 0
    # A check ran and found something (audit findings, validation failures).
    FAILED = 1
    # Bad input on the command line or in a file the user gave us.
    BAD_INPUT = 2
    # The command group exists but its capability has not landed yet.
    NOT_AVAILABLE = 2
    # A host tool or service we depend on (Docker, debootstrap, apt) failed.
    ENVIRONMENT = 3
    # Bundle trust (airgapctl.bundle): one code per rejection class, so scripts can tell them apart.
    # The manifest's or part index's signature is missing, malformed or wrong, or the key is unknown.
    BUNDLE_SIGNATURE = 10
    # A file the signed manifest lists is not in the bundle.
    BUNDLE_FILE_MISSING = 11
    # The bundle holds a file or directory the signed manifest does not list.
    BUNDLE_FILE_EXTRA = 12
    # A listed file's size or SHA-256 differs from the signed manifest.
    BUNDLE_FILE_ALTERED = 13
    # The bundle's sequence is not newer than the last accepted one (rollback or replay).
    BUNDLE_ROLLBACK = 14
    # The bundle's signed expiry time has passed.
    BUNDLE_EXPIRED = 15
    # A part (or a part's index) belongs to another bundle: mix-and-match of media.
    BUNDLE_FOREIGN_PART = 16
    # A symlink, hard link, device, fifo, path escape or size bomb in a bundle or archive.
    BUNDLE_UNSAFE_ENTRY = 17
    # The import ledger's hash chain is broken: an entry was edited, removed or reordered.
    LEDGER_BROKEN = 18
    # A correctly signed manifest or part index does not match its schema.
    BUNDLE_MANIFEST_INVALID = 19
    # A part the signed part index lists was not given.
    BUNDLE_PART_MISSING = 20
    # A part's size or SHA-256 differs from the signed part index.
    BUNDLE_PART_ALTERED = 21
    # verify --require-attestation: no passing test record, or roles/playbooks differ from the tested ones.
    BUNDLE_ATTESTATION = 22


class AirgapError(Exception):
    """An expected failure: printed as one line plus a hint, never as a traceback."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInputError(AirgapError):
    exit_code = ExitCode.BAD_INPUT


class NotAvailableError(AirgapError):
    exit_code = ExitCode.NOT_AVAILABLE


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


class AuditFindingsError(AirgapError):
    """The audit ran and found something at or above --fail-on (the report says what)."""

    exit_code = ExitCode.FAILED
