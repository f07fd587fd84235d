"""The disk guard: below ``min_free`` percent free on the store's file system the collector is
stopped, at ``resume_free`` or more it is started again. Stored lines are never deleted to make
room: a full disk would cost lines silently (the collector's writes fail), a stopped collector
costs none it has stored and says so.

The pause is kept as a flag file, ``<state>/guard.json`` (when, how much was free, the units),
written before the units are stopped (none is stopped when it cannot be written), so that a run
after a crash or a reboot still knows to hold them stopped and, later, to start them: those the
run names, in its order (the store's writer before what feeds it). Each change is one
``store.guard`` event.

The free figure (``free``) and the units' control (``control``) are parameters: the command
measures with os.statvfs and runs systemctl; tests give their own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.events import Settings, emit_or_warn

EVENT = "store.guard"
FLAG_NAME = "guard.json"
SYSTEMCTL_TIMEOUT = 120


@dataclass(frozen=True)
class DiskFree:
    free_bytes: int  # what an unprivileged writer may still use (df's Avail)
    total_bytes: int

    @property
    def percent(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def disk_free(path: Path) -> DiskFree:
    figures = os.statvfs(path)
    return DiskFree(figures.f_bavail * figures.f_frsize, figures.f_blocks * figures.f_frsize)


# (action, unit) -> None when done, else why not.
UnitControl = Callable[[str, str], "str | None"]


def systemctl(action: str, unit: str) -> str | None:
    """``systemctl ACTION UNIT``: None when it succeeded, else the last line it printed."""
    try:
        done = subprocess.run(
            ["systemctl", action, unit], capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT, check=False
        )
    except FileNotFoundError:
        return "systemctl not found"
    except subprocess.TimeoutExpired:
        return f"systemctl {action} did not finish within {SYSTEMCTL_TIMEOUT} s"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"systemctl {action} exited {done.returncode}"


@dataclass(frozen=True)
class UnitFailure:
    unit: str
    action: str  # stop or start
    reason: str


@dataclass
class Guard:
    # ok: enough free space; paused: the collector is held stopped; resumed: started again by this run.
    state: str
    changed: bool  # this run paused or resumed (would, in a dry run)
    free_percent: float
    free_bytes: int
    min_free: float
    resume_free: float
    units: list[str]
    flag: str
    since: str | None = None  # when the pause began
    failed: list[UnitFailure] = field(default_factory=list)
    # The flag could not be written or removed.
    error: str | None = None


def check(
    store: Path,
    state: Path,
    *,
    min_free: float,
    resume_free: float,
    units: list[str],
    dry_run: bool = False,
    free: Callable[[Path], DiskFree] = disk_free,
    control: UnitControl = systemctl,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> Guard:
    """Measure the store's free space and pause, hold or resume the collector's ``units``.

    ``units`` are started in their order on resume and stopped in the reverse order; while paused,
    units the flag names that ``units`` no longer does are held stopped too, but only ``units`` are
    ever started again."""
    figures = free(store)
    flag = state / FLAG_NAME
    held = _read_flag(flag)
    current = list(dict.fromkeys(units))
    flagged = (held or {}).get("units", [])
    named = current + [unit for unit in flagged if unit not in current]
    result = Guard("ok", False, round(figures.percent, 2), figures.free_bytes, min_free, resume_free, named, str(flag))
    fields: dict[str, Any] = {"free_percent": result.free_percent, "free_bytes": result.free_bytes, "units": named}
    if held is None:
        if figures.percent >= min_free:
            result.units = current
            return result
        result.state, result.changed = "paused", True
        result.since = _stamp(now)
        if dry_run:
            return result
        document = {"when": result.since, **fields, "store": str(store), "min_free": min_free}
        # Nothing is stopped without the flag: a unit stopped unrecorded would never be started again.
        result.error = _write_flag(flag, {**document, "resume_free": resume_free})
        if result.error is not None:
            with suppress(OSError):
                flag.unlink(missing_ok=True)  # a flag replaced but not made durable
            result.state, result.changed, result.since = "ok", False, None
            result.error += "; the collector was not stopped"
            return result
        # Emitted before the stop: the collector still takes it into the store.
        emit_or_warn(EVENT, {"state": "paused", **fields, "min_free": min_free}, settings=settings)
        result.failed = _each(control, "stop", named[::-1])
        return result
    result.since = held.get("when") if isinstance(held.get("when"), str) else None
    if figures.percent < resume_free:
        result.state = "paused"
        if dry_run:
            return result
        if held.get("units") != named or result.since is None:
            # A unit added since, or a flag that cannot be read: written again each run until it is.
            document = {**fields, "store": str(store), "min_free": min_free, "resume_free": resume_free, **held}
            document.update(units=named, when=result.since or _stamp(now))
            result.error = _write_flag(flag, document)
        # Again each run: a reboot, or a hand, may have started the collector.
        result.failed = _each(control, "stop", named[::-1])
        return result
    result.state, result.changed, result.units = "resumed", True, current
    if dry_run:
        return result
    result.failed = _each(control, "start", current)
    if result.failed:  # the flag stays: the next run starts them again
        result.state, result.changed = "paused", False
        return result
    try:
        flag.unlink(missing_ok=True)
    except OSError as error:
        result.error = f"cannot remove {flag}: {error.strerror or error}"
    fields["units"] = current
    emit_or_warn(EVENT, {"state": "resumed", **fields, "paused_since": result.since}, settings=settings)
    return result


def _each(control: UnitControl, action: str, units: list[str]) -> list[UnitFailure]:
    failed = []
    for unit in units:
        reason = control(action, unit)
        if reason is not None:
            failed.append(UnitFailure(unit, action, reason))
    return failed


def _read_flag(flag: Path) -> dict[str, Any] | None:
    """The flag's document; None without a flag, {} for one that cannot be read (still a pause)."""
    try:
        document = json.loads(flag.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    if not (isinstance(document.get("units"), list) and all(isinstance(unit, str) for unit in document["units"])):
        document["units"] = []
    return document


def _write_flag(flag: Path, document: dict[str, Any]) -> str | None:
    """Write the flag whole (a temporary renamed over it, fsync'd); None when written, else why not."""
    temporary = flag.with_name(flag.name + ".tmp")
    try:
        flag.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w") as handle:
            handle.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, flag)
        fd = os.open(flag.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        return f"cannot write {flag}: {error.strerror or error}"
    return None


def _stamp(now: dt.datetime | None) -> str:
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
