"""Run a download program to the end while something watches what it has written so far.

apt-get and pip write their downloads into a directory we name; how far they are is read
from that directory (files and their sizes), never from their output, which stays captured
for error messages exactly as with subprocess.run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

POLL_SECONDS = 0.25


def run_watched(
    argv: list[str], tick: Callable[[], None], interval: float = POLL_SECONDS, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, capture_output=True, text=True)``, calling ``tick()`` every ``interval`` seconds."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        while True:
            try:
                stdout, stderr = proc.communicate(timeout=interval)  # keeps reading: no full pipe blocks it
                break
            except subprocess.TimeoutExpired:
                tick()
            except BaseException:  # Ctrl-C or a failing tick: the download must not outlive us
                proc.kill()
                raise
    tick()
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def present_bytes(paths: Iterable[Path]) -> tuple[int, int]:
    """Bytes and count of the files among ``paths`` that exist now (a file may vanish while we look)."""
    total = count = 0
    for path in paths:
        try:
            total += path.stat().st_size
        except OSError:
            continue
        count += 1
    return total, count
