"""Incremental runs with --state: only what the logs gained is read; rotated, copied and compressed
files are recognised; the hour a run stopped in is judged again with the next run's lines."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from airgapctl.errors import BadInputError
from log_analysis.pipeline import AuditOptions, run_audit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY_FILE = FIXTURES / "policy.json"
POLICY = json.loads(POLICY_FILE.read_text())
SAMPLE = json.loads((FIXTURES / "readers" / "gateway_lines.log").read_text().splitlines()[0])
START = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _lines(first: int, count: int, step: float = 10.0, **fields) -> str:
    """``count`` served lines of alice, ``step`` seconds apart from START + ``first`` steps."""
    out = []
    for i in range(first, first + count):
        when = START + dt.timedelta(seconds=i * step)
        out.append(json.dumps(SAMPLE | {"time": when.isoformat(), "request_id": f"{i:032x}"} | fields))
    return "".join(line + "\n" for line in out)


def _audit(state: Path, *logs: Path, **options) -> dict:
    return run_audit(AuditOptions(logs=list(logs), policy=POLICY_FILE, state_dir=state, **options)).report


def test_a_second_run_reads_only_the_lines_added(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 300))
    first = _audit(tmp_path / "state", log)
    assert first["inputs"]["lines_read"] == 300 and first["inputs"]["incremental"]
    with log.open("a") as stream:
        stream.write(_lines(300, 40))
    second = _audit(tmp_path / "state", log)
    assert second["inputs"]["lines_read"] == 40
    assert second["inputs"]["files"][0]["read_from"] == len(_lines(0, 300).encode())


def test_nothing_new_stops_the_run_and_full_reads_again_leaving_the_state(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 300))
    state = tmp_path / "state"
    _audit(state, log)
    saved = {name: (state / name).read_bytes() for name in ("baseline.json", "reading.json")}
    with pytest.raises(BadInputError, match="nothing new to read"):
        _audit(state, log)
    again = _audit(state, log, full=True)
    assert again["inputs"]["lines_read"] == 300 and not again["inputs"]["incremental"]
    assert {name: (state / name).read_bytes() for name in saved} == saved


def test_no_learn_leaves_the_read_positions_so_the_next_run_reads_the_same_lines(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 300))
    _audit(tmp_path / "state", log)
    with log.open("a") as stream:
        stream.write(_lines(300, 40))
    assert _audit(tmp_path / "state", log, learn=False)["inputs"]["lines_read"] == 40
    assert _audit(tmp_path / "state", log)["inputs"]["lines_read"] == 40


def test_rotation_by_rename_then_compression_is_recognised(tmp_path):
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    (logs / "access.log").write_text(_lines(0, 300))
    _audit(state, logs)
    # logrotate: the live log renamed (after a few more lines), a new one started.
    with (logs / "access.log").open("a") as stream:
        stream.write(_lines(300, 20))
    os.rename(logs / "access.log", logs / "access.log.1")
    (logs / "access.log").write_text(_lines(320, 30))
    report = _audit(state, logs)
    assert report["inputs"]["lines_read"] == 50
    # The next day: the rotated file compressed, the live one renamed in turn.
    with gzip.open(logs / "access.log.2.gz", "wb") as stream:
        stream.write((logs / "access.log.1").read_bytes())
    (logs / "access.log.1").unlink()
    os.rename(logs / "access.log", logs / "access.log.1")
    (logs / "access.log").write_text(_lines(350, 10))
    report = _audit(state, logs)
    assert report["inputs"]["lines_read"] == 10
    unchanged = {Path(u["path"]).name for u in report["inputs"]["unchanged"]}
    assert unchanged == {"access.log.1", "access.log.2.gz"}
    # Each file is remembered under its latest name.
    known = {Path(f["path"]).name for f in json.loads((state / "reading.json").read_text())["files"]}
    assert known == {"access.log", "access.log.1", "access.log.2.gz"}


def test_copytruncate_reads_the_copy_and_the_truncated_log_once(tmp_path):
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    (logs / "access.log").write_text(_lines(0, 300))
    _audit(state, logs)
    with (logs / "access.log").open("a") as stream:
        stream.write(_lines(300, 20))
    shutil.copy(logs / "access.log", logs / "access.log.1")  # copied, then truncated in place
    (logs / "access.log").write_text(_lines(320, 5))
    assert _audit(state, logs)["inputs"]["lines_read"] == 25


def test_a_log_and_its_compressed_copy_in_one_run_are_read_once(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log.1").write_text(_lines(0, 300))
    (logs / "access.log.1.gz").write_bytes(gzip.compress((logs / "access.log.1").read_bytes()))
    report = run_audit(AuditOptions(logs=[logs], policy=POLICY_FILE)).report
    assert report["inputs"]["lines_read"] == 300
    assert [Path(u["path"]).name for u in report["inputs"]["unchanged"]] == ["access.log.1.gz"]


def _failures(first: int, count: int) -> str:
    return _lines(
        first, count, step=6.0, client="", remote_addr="198.51.100.9", operation="", decision="deny",
        reason="no_client_cert", status=401, upstream_status="",
    )  # fmt: skip


@pytest.mark.parametrize("with_state", [True, False])
def test_a_burst_cut_by_the_run_boundary_is_judged_whole_from_the_stored_hour(tmp_path, with_state):
    """Twenty-four failures in one five-minute window, twelve read by each run: only the stored
    aggregates of the first run let the second see the window whole."""
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 30, step=2.0) + _failures(0, 12))
    state = tmp_path / "state" if with_state else None
    first = run_audit(AuditOptions(logs=[log], policy=POLICY_FILE, state_dir=state)).report
    assert first["summary"]["by_detector"]["auth_failures"] == 0
    if with_state:
        with log.open("a") as stream:
            stream.write(_failures(12, 12))
        logs = [log]
    else:
        later = tmp_path / "later.log"
        later.write_text(_failures(12, 12))
        logs = [later]
    second = run_audit(AuditOptions(logs=logs, policy=POLICY_FILE, state_dir=state)).report
    assert second["inputs"]["lines_read"] == 12
    assert second["summary"]["by_detector"]["auth_failures"] == (1 if with_state else 0)
    assert (second["inputs"]["carried_from"] is not None) is with_state


def test_a_stored_hour_of_other_measures_is_not_joined(tmp_path):
    """A state kept by a version whose aggregates held other measures: the next run judges that hour
    on its own lines rather than misreading the stored rows."""
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 30, step=2.0) + _failures(0, 12))
    state = tmp_path / "state"
    run_audit(AuditOptions(logs=[log], policy=POLICY_FILE, state_dir=state))
    reading = json.loads((state / "reading.json").read_text())
    measures = reading["carry"]["measures"]
    column = 3 + measures.index("forbidden")  # an actors row: client, remote_addr, win, then the measures
    measures.remove("forbidden")
    reading["carry"]["actors"] = [row[:column] + row[column + 1 :] for row in reading["carry"]["actors"]]
    (state / "reading.json").write_text(json.dumps(reading))
    with log.open("a") as stream:
        stream.write(_failures(12, 12))
    second = run_audit(AuditOptions(logs=[log], policy=POLICY_FILE, state_dir=state)).report
    assert second["inputs"]["lines_read"] == 12 and second["inputs"]["carried_from"] is None
    assert second["summary"]["by_detector"]["auth_failures"] == 0


def test_a_stored_hour_without_the_spec_checks_rows_is_not_joined(tmp_path):
    """A state kept before the audit kept the spec check's rows: the measures may match, the tables do not."""
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 30, step=2.0))
    state = tmp_path / "state"
    _audit(state, log)
    reading = json.loads((state / "reading.json").read_text())
    assert {"violations", "operation_clients"} <= set(reading["carry"])
    del reading["carry"]["violations"], reading["carry"]["operation_clients"]
    (state / "reading.json").write_text(json.dumps(reading))
    with log.open("a") as stream:
        stream.write(_lines(30, 10, step=2.0))
    assert _audit(state, log)["inputs"]["carried_from"] is None


def test_a_finding_of_the_stored_hour_alone_is_not_reported_again(tmp_path):
    """A burst the first run reported, then new lines later in the same hour: the second run judges
    the stored hour again (for its statistics) but does not repeat that finding; a burst among its
    own lines it reports."""
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 30, step=2.0) + _failures(0, 24))  # 24 failures within 144 s
    state = tmp_path / "state"
    first = _audit(state, log)
    assert first["summary"]["by_detector"]["auth_failures"] == 1
    with log.open("a") as stream:
        stream.write(_lines(150, 20, step=10.0))  # 25 to 28 minutes after START: other windows
    second = _audit(state, log)
    assert second["inputs"]["carried_from"] is not None
    assert second["summary"]["by_detector"]["auth_failures"] == 0
    assert any("1 finding(s) of that part alone, reported by the last run, left out" in n for n in second["notes"])
    with log.open("a") as stream:
        stream.write(_failures(350, 24))  # 35 minutes after START
    third = _audit(state, log)
    assert third["summary"]["by_detector"]["auth_failures"] == 1
    (finding,) = [f for f in third["findings"] if f["detector"] == "auth_failures"]
    assert finding["window"]["start"] >= "2026-03-05T09:35:00Z"


def test_a_finding_of_the_stored_hour_the_last_run_did_not_report_is_reported(tmp_path):
    """The last run judged the same rows with another threshold and reported nothing: the finding
    is new to the reader, and this run reports it."""
    log = tmp_path / "access.log"
    log.write_text(_lines(0, 30, step=2.0) + _failures(0, 24))
    state = tmp_path / "state"
    strict = {"auth_failures": {"min_failures": 100.0}}
    assert _audit(state, log, parameters=strict)["summary"]["by_detector"]["auth_failures"] == 0
    with log.open("a") as stream:
        stream.write(_lines(150, 20, step=10.0))
    second = _audit(state, log)
    assert second["summary"]["by_detector"]["auth_failures"] == 1
    assert not any("left out" in note for note in second["notes"])
