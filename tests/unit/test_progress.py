"""Progress bars on stderr: redrawn on a terminal, a start and a final line elsewhere, none for --json."""

from __future__ import annotations

import io
import threading

import pytest

from airgapctl.progress import NO_PROGRESS, REDRAW_SECONDS, TerminalReporter, format_size

MIB = 1 << 20


class FakeClock:
    """Time that moves only when a test says so: no test here waits or measures."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _a_capable_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")  # TERM=dumb (some CI) would turn redraws off


def _hash_like(reporter: TerminalReporter, clock: FakeClock, files: int = 40, size: int = 15 * MIB) -> None:
    """What sealing does: one bar over every file's bytes, advanced per file, 50 ms apart."""
    with reporter.bar("hashing", files * size, files) as bar:
        for _ in range(files):
            clock.now += 0.05
            bar.advance(size, 1)


def test_not_a_terminal_prints_one_start_and_one_final_line_per_bar():
    stream, clock = io.StringIO(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    with reporter.bar("hashing", 4000, 1000) as bar:
        for _ in range(1000):
            clock.now += 0.5
            bar.advance(4, 1)
    text = stream.getvalue()
    assert "\r" not in text
    assert text.splitlines() == [
        "hashing: 3.9 KiB in 1000 files…",
        "hashing: 3.9 KiB, 1000 files in 500.0 s (8 B/s)",
    ]


def test_not_a_terminal_with_terminal_only_bars_prints_nothing_but_notes():
    stream, clock = io.StringIO(), FakeClock()
    reporter = TerminalReporter(stream, piped_lines=False, clock=clock)
    reporter.note("bundle: hashing and signing…")
    _hash_like(reporter, clock)
    assert stream.getvalue() == "bundle: hashing and signing…\n"


def test_fake_terminal_redraws_one_line_in_place_and_ends_it_at_100_percent():
    stream, clock = FakeTerminal(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    _hash_like(reporter, clock)
    text = stream.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1  # one line, redrawn, then finished
    frames = text.rstrip("\n").split("\r")[1:]
    assert frames[0].startswith("hashing  [....................]   0%  0.0/600.0 MiB, 0/40 files")
    assert frames[-1].rstrip() == "hashing  [####################] 100%  600.0/600.0 MiB, 40/40 files  300.0 MiB/s"
    assert all(len(frame) <= 79 for frame in frames)  # never wraps on an 80-column terminal


def test_fake_terminal_redraws_at_most_once_per_interval():
    stream, clock = FakeTerminal(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    with reporter.bar("hashing", 10_000, 10_000) as bar:
        for _ in range(10_000):  # 10,000 updates within 1 s of (fake) time
            clock.now += 0.0001
            bar.advance(1, 1)
    redraws = stream.getvalue().count("\r")
    assert redraws <= 1 / REDRAW_SECONDS + 2  # the first frame, one per interval, the final frame


def test_fake_terminal_drops_the_graphic_before_the_numbers_when_narrow():
    stream, clock = FakeTerminal(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    with reporter.bar("apt download with a long label", 45 * MIB, 30, "packages") as bar:
        clock.now += 2
        bar.update(15 * MIB, 10)
    frames = stream.getvalue().rstrip("\n").split("\r")[1:]
    assert frames[-1].rstrip() == "apt download with a long label   33%  15.0/45.0 MiB, 10/30 packages  7.5 MiB/s"


def test_fake_terminal_puts_a_note_above_the_running_bar():
    stream, clock = FakeTerminal(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    with reporter.bar("hashing", 100, 2) as bar:
        bar.advance(50, 1)
        reporter.note("warning: something")
        bar.advance(50, 1)
    lines = stream.getvalue().split("\n")
    assert lines[0].split("\r")[-1].rstrip() == "warning: something"
    assert lines[1].split("\r")[-1].startswith("hashing  [####################] 100%")


def _fetch_unknown_total(stream) -> str:
    clock = FakeClock()
    with TerminalReporter(stream, clock=clock).bar("wheel download", None, None, "wheels") as bar:
        clock.now += 4
        bar.update(8 * MIB, 3)
    assert "%" not in stream.getvalue()
    return stream.getvalue()


def test_a_bar_of_unknown_total_on_a_fake_terminal_counts_what_arrived():
    frames = _fetch_unknown_total(FakeTerminal()).rstrip("\n").split("\r")[1:]
    assert [frame.rstrip() for frame in frames] == [
        "wheel download  0 B, 0 wheels  0 B/s",
        "wheel download  8.0 MiB, 3 wheels  2.0 MiB/s",
    ]


def test_a_bar_of_unknown_total_in_a_pipe_says_so_then_counts_what_arrived():
    assert _fetch_unknown_total(io.StringIO()).splitlines() == [
        "wheel download: starting, size not known in advance…",
        "wheel download: 8.0 MiB, 3 wheels in 4.0 s (2.0 MiB/s)",
    ]


def test_a_bar_stopped_by_an_error_says_how_far_it_got():
    stream, clock = io.StringIO(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    with pytest.raises(RuntimeError), reporter.bar("hashing", 4 * MIB, 4) as bar:
        bar.advance(MIB, 1)
        raise RuntimeError("file altered")
    assert stream.getvalue().splitlines()[-1] == "hashing: stopped after 1.0/4.0 MiB, 1/4 files"


def test_a_failing_step_on_a_fake_terminal_ends_the_bar_line():
    stream = FakeTerminal()
    with pytest.raises(RuntimeError), TerminalReporter(stream, clock=FakeClock()).bar("hashing", 10, 1):
        raise RuntimeError("boom")
    assert stream.getvalue().endswith("\n")  # the error message then starts on a line of its own


@pytest.mark.parametrize("stream", [FakeTerminal(), io.StringIO()], ids=["fake terminal", "pipe"])
def test_json_mode_prints_no_bar_only_the_phase_lines(stream):
    clock = FakeClock()
    reporter = TerminalReporter(stream, bars=False, clock=clock)
    reporter.note("bundle: apt…")
    _hash_like(reporter, clock)
    assert stream.getvalue() == "bundle: apt…\n"


def test_no_progress_is_silent_and_accepts_every_call():
    NO_PROGRESS.note("ignored")
    with NO_PROGRESS.bar("hashing", 10, 1) as bar:
        bar.advance(10, 1)
        bar.update(10, 1)


def test_advancing_from_several_threads_loses_no_count():
    stream, clock = io.StringIO(), FakeClock()
    reporter = TerminalReporter(stream, clock=clock)
    with reporter.bar("hashing", 8 * 5000 * 3, 8 * 5000) as bar:

        def work() -> None:
            for _ in range(5000):
                bar.advance(3, 1)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert stream.getvalue().splitlines()[-1].startswith("hashing: 117.2 KiB, 40000 files in")


def test_a_dumb_terminal_gets_lines_not_redraws(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    stream, clock = FakeTerminal(), FakeClock()
    _hash_like(TerminalReporter(stream, clock=clock), clock)
    assert "\r" not in stream.getvalue() and len(stream.getvalue().splitlines()) == 2


def test_format_size():
    assert [format_size(n) for n in (0, 1023, 1024, 1536 * 1024, 3 << 30)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 MiB",
        "3.0 GiB",
    ]
