"""One maintenance run of the store: retention, compression, then the disk guard, under a lock.

Retention goes first so that no day is compressed only to be deleted; the guard goes last so that
it measures the space the other two freed. A file that cannot be compressed or deleted is left as
it was and reported; the guard runs whatever happened before it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from airgapctl.contracts.events import STORE_ROOT
from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.events import Settings
from airgapctl.logstore import retention
from airgapctl.logstore.compress import Compression, compress_closed, open_inodes
from airgapctl.logstore.guard import DiskFree, Guard, UnitControl, check, disk_free, systemctl
from airgapctl.logstore.layout import Note, scan
from airgapctl.logstore.retention import Expiry

DEFAULT_STORE = STORE_ROOT
DEFAULT_STATE = Path("/var/lib/airgap/logging")
LOCK_NAME = "maintain.lock"
# What systemd takes as a unit name (and never an option of systemctl's).
_UNIT = re.compile(r"^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]{0,255}$")


@dataclass(frozen=True)
class Options:
    store: Path = DEFAULT_STORE
    compress_after: int = 1
    retention_days: int = 90  # 0: kept forever
    min_free: float = 10.0
    resume_free: float = 15.0
    units: tuple[str, ...] = ()
    state: Path = DEFAULT_STATE
    dry_run: bool = False


@dataclass
class Result:
    store: str
    today: str
    dry_run: bool
    expired: Expiry
    compressed: Compression
    guard: Guard
    # Below the store's root: names the store does not give a day, left alone.
    unknown: list[str] = field(default_factory=list)
    unreadable: list[Note] = field(default_factory=list)

    def problems(self) -> list[str]:
        """One line per thing the run could not do."""
        lines = [f"cannot read {note.path}: {note.reason}" for note in self.unreadable]
        lines += [f"cannot compress {note.path}: {note.reason}" for note in self.compressed.failed]
        lines += [self.expired.error] if self.expired.error else []
        lines += [f"cannot delete {note.path}: {note.reason}" for note in self.expired.failed]
        lines += [f"systemctl {item.action} {item.unit}: {item.reason}" for item in self.guard.failed]
        return lines + ([self.guard.error] if self.guard.error else [])


def parse_options(
    store: Path | str = DEFAULT_STORE,
    compress_after: str | int = 1,
    retention_days: str | int = 90,
    min_free: str | float = 10,
    resume_free: str | float = 15,
    units: list[str] | tuple[str, ...] = (),
    state: Path | str = DEFAULT_STATE,
    dry_run: bool = False,
) -> Options:
    """The options as given on the command line, checked; BadInputError names the option and the fix."""
    store, state = Path(store), Path(state)
    if not store.exists():
        raise BadInputError(f"--store {store}: no such directory; give the store's root, which holds STREAM/DAY.log")
    if not store.is_dir():
        raise BadInputError(f"--store {store}: not a directory; give the store's root, which holds STREAM/DAY.log")
    if state.exists() and not state.is_dir():
        raise BadInputError(f"--state {state}: not a directory; give the directory for the guard's flag")
    after = _days("--compress-after", compress_after, 1)
    if after < 1:
        raise BadInputError(
            f"--compress-after {str(compress_after).strip()}: the collector still writes today's file;"
            " give 1 or more (in the logging role, logging_compress_after_days: 1 or more)"
        )
    keep = _days("--retention-days", retention_days, 90)
    low, high = _percent("--min-free", min_free), _percent("--resume-free", resume_free)
    if high < low:
        raise BadInputError(
            f"--resume-free {high:g} is below --min-free {low:g}: give --resume-free at least {low:g}"
            " (the collector starts again only with that much free)"
        )
    for unit in units:
        if not _UNIT.match(unit):
            raise BadInputError(
                f"--collector-unit {unit!r} is not a systemd unit name; give one such as rsyslog.service"
            )
    return Options(store, after, keep, low, high, tuple(dict.fromkeys(units)), state, dry_run)


def _days(option: str, value: str | int, example: int) -> int:
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 6:
        raise BadInputError(f"{option} {value!r} is not a number of days; give a whole number such as {example}")
    return int(text)


def _percent(option: str, value: str | float) -> float:
    text = str(value).strip().removesuffix("%")
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 100:  # NaN fails this too
        raise BadInputError(f"{option} {value!r} is not a percentage; give a number from 0 to 100 such as 10")
    return number


def maintain(
    options: Options,
    *,
    now: dt.datetime | None = None,
    free: Callable[[Path], DiskFree] = disk_free,
    control: UnitControl = systemctl,
    settings: Settings | None = None,
    open_files: Callable[[], set[tuple[int, int]]] = open_inodes,
) -> Result:
    """Run retention, compression and the guard once; in a dry run only say what they would do."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    today = moment.astimezone(dt.UTC).date()
    with _lock(options):
        found = scan(options.store)
        expiring = retention.expired_days(found, today, options.retention_days)
        expiry = retention.expire(found, today, options.retention_days, dry_run=options.dry_run, settings=settings)
        compression = compress_closed(
            found,
            today,
            options.compress_after,
            now=moment.timestamp(),
            dry_run=options.dry_run,
            exclude=frozenset(item.path for item in expiring),
            open_files=open_files,
        )
        guard = check(
            options.store,
            options.state,
            min_free=options.min_free,
            resume_free=options.resume_free,
            units=list(options.units),
            dry_run=options.dry_run,
            free=free,
            control=control,
            settings=settings,
            now=moment,
        )
    return Result(
        str(options.store),
        today.isoformat(),
        options.dry_run,
        expiry,
        compression,
        guard,
        found.unknown,
        found.unreadable,
    )


@contextmanager
def _lock(options: Options) -> Iterator[None]:
    """One run at a time (a run by hand waits for the timer's); none for a dry run, which writes nothing."""
    if options.dry_run:
        yield
        return
    path = options.state / LOCK_NAME
    try:
        options.state.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise EnvironmentProblem(
            f"--state {options.state}: cannot open {LOCK_NAME}: {error.strerror or error}",
            hint="give a --state directory root may write (the guard keeps its flag there)",
        ) from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
