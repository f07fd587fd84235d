"""What the bundle libraries report as they hash and download: totals, counts, final states."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from airgapctl.bundle import hashing, trust, verify_bundle
from airgapctl.bundle_build import apt_fetch, wheels
from airgapctl.bundle_build.watch import present_bytes, run_watched
from airgapctl.errors import BadInputError, BundleFileAlteredError
from airgapctl.progress import Bar, Reporter, TerminalReporter
from tests.unit.test_bundle_support import DEFAULT_FILES, make_bundle, make_keys, write_tree


class RecordingBar(Bar):
    def __init__(self, label: str, total: int | None, items: int | None, noun: str) -> None:
        self.label, self.total, self.items, self.noun = label, total, items, noun
        self.done = self.items_done = self.calls = 0
        self.completed: bool | None = None

    def advance(self, nbytes: int, items: int = 0) -> None:
        self.done += nbytes
        self.items_done += items
        self.calls += 1

    def update(self, done: int, items: int) -> None:
        self.done, self.items_done = done, items
        self.calls += 1

    def close(self, completed: bool = True) -> None:
        self.completed = completed


class RecordingReporter(Reporter):
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.bars: list[RecordingBar] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def bar(self, label: str, total: int | None, items: int | None = None, noun: str = "files") -> Bar:
        self.bars.append(RecordingBar(label, total, items, noun))
        return self.bars[-1]


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


@pytest.mark.parametrize("workers", [1, 2])
def test_hash_files_reports_every_byte_once_per_large_chunk_and_every_file(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(trust.files, "REPORT_BYTES", 3 << 20)
    monkeypatch.setattr(trust.files, "PARALLEL_THRESHOLD_BYTES", 0)  # threads even for this little data
    sizes = {"big.bin": 10 << 20, "a.txt": 5, "empty": 0, "d/b.bin": 1 << 20}
    write_tree(tmp_path, {rel: b"x" * size for rel, size in sizes.items()})
    calls: list[tuple[int, int]] = []
    hashing.hash_files(tmp_path, sizes, workers=workers, report=lambda n, files: calls.append((n, files)))
    assert sum(n for n, _ in calls) == sum(sizes.values())
    assert sum(files for _, files in calls) == len(sizes)
    # 10 MiB read 1 MiB at a time, reported every 3 MiB: 3 chunks and the rest; never once per read.
    assert len(calls) == 3 + len(sizes)


def test_sealing_reports_one_bar_over_every_file(tmp_path, keys):
    reporter = RecordingReporter()
    make_bundle(tmp_path / "b", keys[0], progress=reporter)
    (bar,) = reporter.bars
    assert (bar.label, bar.total, bar.items) == ("hashing", sum(map(len, DEFAULT_FILES.values())), len(DEFAULT_FILES))
    assert (bar.done, bar.items_done, bar.completed) == (bar.total, bar.items, True)


def test_verify_reports_the_same_bar_and_its_final_state(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    reporter = RecordingReporter()
    verify_bundle(root, keys[1], progress=reporter)
    (bar,) = reporter.bars
    assert (bar.done, bar.items_done, bar.completed) == (bar.total, len(DEFAULT_FILES), True)


def test_verify_of_an_altered_file_finishes_the_hashing_bar_then_refuses(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    (root / "specs/orders.yaml").write_bytes(b"openapi: 3.0.0\n")  # same size, other bytes
    reporter = RecordingReporter()
    with pytest.raises(BundleFileAlteredError):
        verify_bundle(root, keys[1], progress=reporter)
    (bar,) = reporter.bars  # every file was hashed; the comparison that refuses comes after
    assert (bar.done, bar.items_done, bar.completed) == (bar.total, len(DEFAULT_FILES), True)


def test_verify_on_a_fake_terminal_ends_at_100_percent(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")

    class FakeTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = make_bundle(tmp_path / "b", keys[0])
    stream = FakeTerminal()
    verify_bundle(root, keys[1], progress=TerminalReporter(stream, piped_lines=False))
    final = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert final.startswith("hashing  [####################] 100%  ") and "5/5 files" in final


def test_run_watched_returns_what_subprocess_run_would_and_ticks_after_the_end(tmp_path):
    script = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(b'x' * 10); print('out'); sys.exit(3)"
    seen: list[tuple[int, int]] = []
    target = tmp_path / "f"
    proc = run_watched([sys.executable, "-c", script, str(target)], lambda: seen.append(present_bytes([target])))
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "")
    assert seen[-1] == (10, 1)  # the last tick sees the finished file


def test_present_bytes_skips_what_is_not_there(tmp_path):
    write_tree(tmp_path, {"a": b"12345"})
    assert present_bytes([tmp_path / "a", tmp_path / "missing"]) == (5, 1)


class FakeAptGet:
    """apt-get for _download: --print-uris lists what the cache lacks, --download-only writes it."""

    def __init__(self, archives: Path, debs: dict[str, int]) -> None:
        self.archives, self.debs = archives, debs

    def __call__(self, options, *args, tick=None) -> str:
        if "--print-uris" in args:
            missing = {n: s for n, s in self.debs.items() if not (self.archives / n).exists()}
            return "".join(f"'http://mirror/pool/{n}' {n} {s} SHA256:00\n" for n, s in missing.items())
        for name, size in self.debs.items():
            (self.archives / name).write_bytes(b"d" * size)
            if tick:
                tick()
        return ""


def test_apt_download_bar_covers_what_the_cache_lacks(tmp_path, monkeypatch):
    archives = tmp_path / "archives"
    (archives / "partial").mkdir(parents=True)
    debs = {"nginx_1.22_amd64.deb": 5000, "libbpf1_1%3a1.1_amd64.deb": 700, "cached_1_all.deb": 300}
    (archives / "cached_1_all.deb").write_bytes(b"d" * 300)
    monkeypatch.setattr(apt_fetch, "_apt_get", FakeAptGet(archives, debs))
    reporter = RecordingReporter()
    request = apt_fetch.AptRequest(("nginx",), tmp_path / "status")
    apt_fetch._download([], request, archives, planned=3, progress=reporter)
    (bar,) = reporter.bars
    assert (bar.label, bar.total, bar.items, bar.noun) == ("apt download", 5700, 2, "packages")
    assert (bar.done, bar.items_done, bar.completed) == (5700, 2, True)


def test_apt_with_everything_cached_says_so_and_shows_no_bar(tmp_path, monkeypatch):
    archives = tmp_path / "archives"
    archives.mkdir()
    (archives / "nginx_1.22_amd64.deb").write_bytes(b"d")
    monkeypatch.setattr(apt_fetch, "_apt_get", FakeAptGet(archives, {"nginx_1.22_amd64.deb": 1}))
    reporter = RecordingReporter()
    apt_fetch._download([], apt_fetch.AptRequest(("nginx",), tmp_path / "s"), archives, 1, reporter)
    assert reporter.bars == [] and reporter.notes == ["apt: all 1 packages are in the download cache"]


def test_wheel_download_bar_counts_fetched_wheels_then_exactly_the_saved_ones(tmp_path, monkeypatch):
    out = write_tree(tmp_path / "wheels", {"airgapctl-1.0-py3-none-any.whl": b"own"})
    during: list[tuple[int, int]] = []

    def fake_pip(*args, tick=None, env=None):
        scratch = Path(env["TMPDIR"])  # pip fetches into its temporary directory first
        assert scratch.is_dir() and not scratch.is_relative_to(out)
        write_tree(scratch, {"pip-unpack-1/pyyaml-6.0-cp311-x.whl": b"y" * 2000, "pip-unpack-2/old-1.0.whl": b"o"})
        tick()
        during.append((reporter.bars[0].done, reporter.bars[0].items_done))
        write_tree(out, {"pyyaml-6.0-cp311-x.whl": b"y" * 2000, "typer-0.29-py3-none-any.whl": b"t" * 500})
        tick()
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(wheels, "_pip", fake_pip)
    reporter = RecordingReporter()
    wheels.download_wheels(["typer"], None, wheels.WheelTarget(), out, reporter)
    (bar,) = reporter.bars
    assert (bar.total, bar.items, bar.noun) == (None, None, "wheels")
    assert during == [(2001, 2)]  # what pip had fetched, the wheel it may drop included
    assert (bar.done, bar.items_done, bar.completed) == (2500, 2, True)  # the saved ones; not airgapctl's own


def test_a_failed_wheel_download_closes_its_bar_as_stopped(tmp_path, monkeypatch):
    def failing_pip(*args, tick=None, env=None):
        return subprocess.CompletedProcess(args, 1, "", "ERROR: No matching distribution found for nosuch\n")

    monkeypatch.setattr(wheels, "_pip", failing_pip)
    reporter = RecordingReporter()
    with pytest.raises(BadInputError, match="No matching distribution"):
        wheels.download_wheels(["nosuch"], None, wheels.WheelTarget(), tmp_path, reporter)
    assert reporter.bars[0].completed is False
