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
