"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``) with its network
features off opens a report of a simulated week, runs its one script without an error, and filters
the findings as the address's fragment asks. It also takes the screenshot shown in the README
(``UPDATE_SCREENSHOT=1`` writes it to docs/audit-report.png)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.simulate import INJECTORS, SimulationOptions, simulate

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY_FILE = FIXTURES / "policy.json"
SCREENSHOT = Path(__file__).parents[2] / "docs" / "audit-report.png"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--enable-logging=stderr",
    "--v=0",
)


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: scripts/setup.sh installs it (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict]:
    import json

    tmp = tmp_path_factory.mktemp("html-report")
    sim = simulate(
        json.loads(POLICY_FILE.read_text()),
        SimulationOptions(tmp / "logs", days=4, train_days=2, requests_per_day=4000, incidents=tuple(INJECTORS)),
    )
    result = run_audit(
        AuditOptions(
            logs=[Path(p) for p in sim.audit_files],
            policy=POLICY_FILE,
            train=[Path(p) for p in sim.train_files],
            gateway_config=Path(sim.gateway_config),
            report_dir=tmp / "reports",
            formats=("html",),
        )
    )
    return result.written[0], result.report


def _open(page: Path, fragment: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, f"{page.as_uri()}{fragment}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _root(dom: str) -> str:
    match = re.search(r"<html\b[^>]*>", dom)
    assert match, dom[:500]
    return match.group(0)


def _rows(dom: str) -> list[tuple[str, str, bool]]:
    """(detector, severity rank, hidden) of every findings row, in the order shown."""
    return [
        (detector, severity, "hidden" in attributes)
        for attributes, severity, detector in re.findall(
            r'<tr ([^>]*data-severity="(\d)" data-detector="([a-z_]+)"[^>]*)>', dom
        )
    ]


@pytest.mark.parametrize(
    ("fragment", "keep"),
    [
        ("#detector=probing", lambda detector, severity: detector == "probing"),
        ("#severity=high", lambda detector, severity: int(severity) >= 3),
        ("", lambda detector, severity: True),
    ],
)
def test_the_report_runs_its_script_and_filters_as_the_fragment_asks(report, tmp_path, fragment, keep):
    page, document = report
    result = _open(page, fragment, tmp_path, "--dump-dom")
    root = _root(result.stdout)
    assert 'data-ready="1"' in root, result.stderr[-2000:]
    assert "data-script-error" not in root
    assert "Uncaught" not in result.stderr
    rows = _rows(result.stdout)
    assert len(rows) == len(document["findings"]) > 5
    assert [not hidden for _, _, hidden in rows] == [keep(d, s) for d, s, _ in rows]
    assert f'data-shown="{sum(keep(d, s) for d, s, _ in rows)}"' in root
    severities = [int(s) for _, s, _ in rows]
    assert severities == sorted(severities, reverse=True)  # most severe first, as sorted by the script


def test_sorting_by_subject_from_the_fragment(report, tmp_path):
    page, _ = report
    result = _open(page, "#sort=subject", tmp_path, "--dump-dom")
    subjects = re.findall(r'<tr [^>]*data-subject="([^"]*)"', result.stdout)
    assert subjects == sorted(subjects)
    assert 'data-sort="subject" aria-sort="ascending"' in result.stdout


def test_a_screenshot_of_the_report(report, tmp_path):
    page, _ = report
    target = tmp_path / "report.png"
    _open(page, "#severity=medium", tmp_path, f"--screenshot={target}", "--window-size=1200,1500", "--hide-scrollbars")
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    if os.environ.get("UPDATE_SCREENSHOT"):
        SCREENSHOT.write_bytes(data)
