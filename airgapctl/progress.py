"""Progress of long steps (downloads, hashing): what libraries report and how stderr shows it.

A library takes a ``Reporter`` (default ``NO_PROGRESS``: silent) and calls ``note()`` for a
phase line and ``bar()`` for a step of known or unknown size; the CLI passes a
``TerminalReporter`` on stderr. On a terminal a bar is one line redrawn with ``\\r`` (at most
every ``REDRAW_SECONDS``); anywhere else (CI, logs, pipes) a bar prints at most a start line
and a final line, so a log never fills with redraws. Stdout is never written.

Bars may be advanced from several threads (hashing runs one per core), so a bar locks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

REDRAW_SECONDS = 0.1
BAR_WIDTH = 20
DEFAULT_COLUMNS = 80


def format_size(count: float) -> str:
    """``512 B``, ``1.5 KiB``, ``300.0 MiB``, ``2.1 GiB``."""
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


class Bar:
    """One step's progress: bytes done of ``total`` (None: not known) and items of ``items``.

    This base class shows nothing; it is what a silent reporter hands out.
    """

    def advance(self, nbytes: int, items: int = 0) -> None:
        """Count ``nbytes`` more bytes and ``items`` more finished items."""

    def update(self, done: int, items: int) -> None:
        """Set the bytes and items done so far (for steps that are watched, not driven)."""

    def close(self, completed: bool = True) -> None:
        """The step ended: finished (``completed``) or stopped by an error."""

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close(completed=kind is None)


class Reporter:
    """Where libraries report progress. This base class is silent: ``NO_PROGRESS``."""

    def note(self, message: str) -> None:
        """A phase line, e.g. ``bundle: apt…``."""

    def bar(self, label: str, total: int | None, items: int | None = None, noun: str = "files") -> Bar:
        """A bar over ``total`` bytes (None: unknown) in ``items`` items (None: unknown) called ``noun``."""
        return Bar()


NO_PROGRESS = Reporter()


class TerminalReporter(Reporter):
    """Phase lines and bars on ``stream`` (the CLI passes sys.stderr).

    ``bars=False`` (``--json``) keeps the phase lines and shows no bar at all;
    ``piped_lines=False`` shows bars only on a terminal, not as start and final lines elsewhere.
    """

    def __init__(
        self,
        stream: TextIO,
        bars: bool = True,
        piped_lines: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interactive = _is_terminal(stream)
        self.bars = bars and (self.interactive or piped_lines)
        self.clock = clock
        self.active: TerminalBar | None = None

    def note(self, message: str) -> None:
        active = self.active
        if active is not None and self.interactive:
            active.interject(message)  # above the bar, which is drawn again below it
            return
        self.stream.write(message + "\n")
        self.stream.flush()

    def bar(self, label: str, total: int | None, items: int | None = None, noun: str = "files") -> Bar:
        if not self.bars:
            return Bar()
        self.active = TerminalBar(self, label, total, items, noun)
        return self.active


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or DEFAULT_COLUMNS
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is an OSError
        return DEFAULT_COLUMNS


class TerminalBar(Bar):
    def __init__(self, reporter: TerminalReporter, label: str, total: int | None, items: int | None, noun: str):
        self.reporter, self.stream, self.clock = reporter, reporter.stream, reporter.clock
        self.label, self.total, self.items, self.noun = label, total, items, noun
        self.done = self.items_done = 0
        self.started = self.drawn_at = self.clock()
        self.width = _columns(self.stream) - 1  # a line that wraps cannot be redrawn with \r
        self.shown, self.on_screen = 0, ""  # the line now on the terminal and its length
        self.closed = False
        self.lock = threading.Lock()
        if reporter.interactive:
            self.draw(force=True)
        else:
            self._write_line(f"{label}: {self._amounts(total_only=True)}…")

    def advance(self, nbytes: int, items: int = 0) -> None:
        with self.lock:
            self.done += nbytes
            self.items_done += items
            self._maybe_draw()

    def update(self, done: int, items: int) -> None:
        with self.lock:
            self.done, self.items_done = done, items
            self._maybe_draw()

    def close(self, completed: bool = True) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.reporter.interactive:  # the last state, as counted: never rounded up to the total
                self.draw(force=True)
                self.stream.write("\n")
                self.stream.flush()
            else:
                self._write_line(self._final_text(completed))
            if self.reporter.active is self:
                self.reporter.active = None

    def _maybe_draw(self) -> None:
        if self.reporter.interactive and not self.closed:
            self.draw()

    def draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.drawn_at < REDRAW_SECONDS:
            return
        self.drawn_at = now
        line = self.line()[: self.width]
        if self.shown and line == self.on_screen:
            return
        self.stream.write("\r" + line.ljust(self.shown))
        self.stream.flush()
        self.shown, self.on_screen = len(line), line

    def interject(self, message: str) -> None:
        with self.lock:
            self.stream.write("\r" + message.ljust(self.shown) + "\n")
            self.shown = 0
            self.draw(force=True)

    def line(self) -> str:
        """What the terminal shows: label, bar and percent (when the total is known), amounts, rate.

        On a narrow terminal the bar graphic goes first, then the rate, so the numbers stay.
        """
        amounts, rate = self._amounts(), f"{format_size(self._rate())}/s"
        if self.total is None:
            choices = [[self.label, amounts, rate], [self.label, amounts]]
        else:
            fraction = min(1.0, self.done / self.total) if self.total else 1.0
            filled = int(fraction * BAR_WIDTH)
            graphic, percent = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]", f"{fraction:4.0%}"
            choices = [
                [self.label, f"{graphic} {percent}", amounts, rate],
                [self.label, percent, amounts, rate],
                [self.label, percent, amounts],
            ]
        lines = ["  ".join(parts) for parts in choices]
        return next((line for line in lines if len(line) <= self.width), lines[-1])

    def _rate(self) -> float:
        elapsed = self.clock() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _amounts(self, total_only: bool = False) -> str:
        """``1.0/4.0 MiB, 3/10 files``; with ``total_only``: ``4.0 MiB in 10 files`` (what is to come)."""
        if total_only:
            if self.total is None:
                return "starting, size not known in advance"
            count = "" if self.items is None else f" in {self.items} {self.noun}"
            return f"{format_size(self.total)}{count}"
        size = format_size(self.done) if self.total is None else _size_pair(self.done, self.total)
        of = "" if self.items is None else f"/{self.items}"
        return f"{size}, {self.items_done}{of} {self.noun}"

    def _final_text(self, completed: bool) -> str:
        if not completed:
            return f"{self.label}: stopped after {self._amounts()}"
        elapsed = self.clock() - self.started
        rate = f"{format_size(self._rate())}/s"
        return f"{self.label}: {format_size(self.done)}, {self.items_done} {self.noun} in {elapsed:.1f} s ({rate})"

    def _write_line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _size_pair(done: int, total: int) -> str:
    """``1.5/4.0 MiB``: both in the total's unit, so the numbers compare at a glance."""
    whole = format_size(total)
    number, unit = whole.split(" ")
    scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
    done_text = f"{done / scale:.0f}" if unit == "B" else f"{done / scale:.1f}"
    return f"{done_text}/{number} {unit}"
