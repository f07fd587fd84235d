"""A run copies a log's new part while DuckDB loads and loads its baseline while DuckDB scans: the
outcome is the one of doing each in turn, errors included (a baseline that cannot be used is
reported before what the logs hold, as when it was loaded first)."""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from airgapctl.errors import BadInputError
from log_analysis import pipeline
from log_analysis.incremental import ReadingState, load_reading, plan_reading
from log_analysis.pipeline import AuditOptions, run_audit
from log_analysis.readers import discover_inputs

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY_FILE = FIXTURES / "policy.json"
SAMPLE = json.loads((FIXTURES / "readers" / "gateway_lines.log").read_text().splitlines()[0])
START = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _append(log: Path, first: int, count: int) -> None:
    lines = [
        json.dumps(SAMPLE | {"time": (START + dt.timedelta(seconds=10 * i)).isoformat(), "request_id": f"{i:032x}"})
        for i in range(first, first + count)
    ]
    with log.open("a") as stream:
        stream.write("".join(line + "\n" for line in lines))


def _audit(state: Path, log: Path) -> dict:
    return run_audit(AuditOptions(logs=[log], policy=POLICY_FILE, state_dir=state)).report


@pytest.fixture
def daily(tmp_path) -> tuple[Path, Path]:
    """A log read once with --state, then grown: the next run reads the new part from a copy."""
    log, state = tmp_path / "access.log", tmp_path / "state"
    _append(log, 0, 200)
    _audit(state, log)
    _append(log, 200, 50)
    return log, state


def test_the_copy_made_later_is_the_one_made_at_once(daily, tmp_path):
    log, state = daily
    reading = load_reading(state)
    (tmp_path / "now").mkdir()
    (tmp_path / "later").mkdir()
    at_once = plan_reading(discover_inputs([log]), reading, tmp_path / "now")
    later = plan_reading(discover_inputs([log]), reading, tmp_path / "later", copy_tails=False)
    assert later.tails and not at_once.tails
    assert not later.inputs[0].source.exists()
    later.copy_tails()
    assert later.inputs[0].source.read_bytes() == at_once.inputs[0].source.read_bytes()
    assert [p.log.first_time for p in later.planned] == [p.log.first_time for p in at_once.planned]
    assert [(p.end, p.earlier) for p in later.planned] == [(p.end, p.earlier) for p in at_once.planned]


def test_a_daily_run_reads_and_learns_the_new_lines(daily):
    log, state = daily
    report = _audit(state, log)
    assert report["inputs"]["lines_read"] == 50
    assert report["baseline"]["present"] and report["baseline"]["updated"]


def test_an_unusable_baseline_is_reported_before_a_log_none_of_whose_lines_reads(daily):
    log, state = daily
    (state / "baseline.json").write_text("{not json")
    with log.open("a") as stream:
        stream.write("\x00\x01\x02 binary\n" * 20)
    with pytest.raises(BadInputError, match="not a usable audit baseline"):
        _audit(state, log)


def test_an_unusable_baseline_is_reported_before_nothing_new(daily):
    log, state = daily
    _audit(state, log)
    (state / "baseline.json").write_text("[]")
    with pytest.raises(BadInputError, match="not a usable audit baseline"):
        _audit(state, log)


def test_a_baseline_that_fails_while_the_scan_runs_stops_the_scan(daily, monkeypatch):
    log, state = daily
    interrupted = threading.Event()
    real_engine = pipeline.engine

    @contextmanager
    def observed_engine(options, work):
        with real_engine(options, work) as eng:
            eng.con = _Connection(eng.con, interrupted.set)
            yield eng

    def endless_scan(eng, *args, **kwargs):
        if not interrupted.wait(10):
            raise AssertionError("the scan was never stopped")
        raise RuntimeError("interrupted")

    def failing_baseline(state_dir):
        raise BadInputError("the baseline is gone")

    monkeypatch.setattr(pipeline, "engine", observed_engine)
    monkeypatch.setattr(pipeline, "scan", endless_scan)
    monkeypatch.setattr(pipeline, "load_baseline", failing_baseline)
    with pytest.raises(BadInputError, match="the baseline is gone"):
        _audit(state, log)
    assert interrupted.is_set()
    assert not any(t.name == "audit-background" for t in threading.enumerate())


class _Connection:
    """A DuckDB connection whose interrupt() is observed."""

    def __init__(self, con, interrupt) -> None:
        self._con, self.interrupt = con, interrupt

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_background_work_hands_back_its_result_or_its_error():
    assert pipeline._Background(lambda: 42).result() == 42
    failing = pipeline._Background(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()


def test_leaving_the_block_by_an_error_stops_the_work_and_waits_for_it():
    release = threading.Event()
    stopped = []

    def work() -> None:
        release.wait(5)

    def stop() -> None:
        stopped.append(True)
        release.set()

    with pytest.raises(KeyError), pipeline._Background(work, stop=stop) as running:
        raise KeyError("main thread failed")
    assert stopped == [True]
    assert not running._thread.is_alive()


def test_the_switch_interval_is_put_back():
    before = sys.getswitchinterval()
    pipeline._Background(lambda: None).result()
    assert sys.getswitchinterval() == before
    with pipeline._Background(lambda: None):
        pass
    assert sys.getswitchinterval() == before


def test_full_reads_everything_and_keeps_no_tail_to_copy(daily, tmp_path):
    log, _ = daily
    (tmp_path / "full").mkdir()
    plan = plan_reading(discover_inputs([log]), ReadingState(), tmp_path / "full", copy_tails=False)
    assert plan.tails == [] and plan.inputs[0].source == log


def test_a_few_minutes_of_lines_are_scanned_on_one_thread(daily, tmp_path):
    log, state = daily
    (tmp_path / "plan").mkdir()
    plan = plan_reading(discover_inputs([log]), load_reading(state), tmp_path / "plan", copy_tails=False)
    assert 0 < plan.size < pipeline.ONE_THREAD_UP_TO
    two = pipeline.EngineOptions(threads=2)
    assert pipeline._engine_options(two, plan, []).threads == 1
    assert pipeline._engine_options(two, plan, [log]).threads == 2  # training logs are read whole
    plan.planned[0].end = plan.planned[0].log.read_from + pipeline.ONE_THREAD_UP_TO + 1
    assert pipeline._engine_options(two, plan, []).threads == 2


def test_the_cycle_collector_is_paused_for_the_run_and_resumed(daily, monkeypatch):
    log, state = daily
    seen = []
    scan = pipeline.scan

    def observed(*args, **kwargs):
        seen.append(gc.isenabled())
        return scan(*args, **kwargs)

    monkeypatch.setattr(pipeline, "scan", observed)
    assert gc.isenabled()
    _audit(state, log)
    assert seen == [False] and gc.isenabled()
