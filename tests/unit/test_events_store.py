"""Reading the events store back: rotated and compressed files, repeats by id, lines that are no event."""

from __future__ import annotations

import gzip
import json

import pytest

from airgapctl.contracts import events as contract
from airgapctl.errors import BadInputError
from airgapctl.events.store import read_store, tag_matches


def _records(count: int, start: float = 1772438400.0, tag: str = "test.event") -> list[dict]:
    return [contract.new_record(tag, {"n": n}, "gw1", start + n) for n in range(count)]


def test_every_file_kind_is_read_repeats_dropped_in_time_order(tmp_path):
    stream = tmp_path / "events"
    (stream / "2026" / "03").mkdir(parents=True)
    records = _records(9)
    # Written out of order, across a live file, a rotated one and a compressed one, some twice.
    (stream / "events.log").write_text("".join(contract.store_line(r) for r in records[6:] + records[:2]))
    (stream / "events.log.1").write_text("".join(json.dumps(r) + "\n" for r in records[3:6]))
    with gzip.open(stream / "2026" / "03" / "events.20260302_0.log.gz", "wt") as handle:
        handle.writelines(json.dumps(r, indent=None) + "\n" for r in records[:4])
    (stream / "events.log.meta").write_text("not a log\n")
    reading = read_store(tmp_path)
    assert [r["fields"]["n"] for r in reading.events] == list(range(9))
    assert (reading.files, reading.lines, reading.repeats, reading.skipped) == (3, 12, 3, {})


def test_lines_that_are_no_event_are_counted_by_reason(tmp_path):
    stream = tmp_path / "events"
    stream.mkdir()
    good = _records(2)
    lines = [contract.store_line(good[0]), "garbage\n", json.dumps({**good[1], "v": 7}) + "\n", '{"id": "cut', ""]
    (stream / "a.log").write_text("".join(lines))
    reading = read_store(tmp_path)
    assert [r["id"] for r in reading.events] == [good[0]["id"]]
    assert reading.skipped == {"not JSON": 2, "unknown version 7": 1}


def test_a_compressed_file_cut_short_gives_what_it_holds(tmp_path):
    stream = tmp_path / "events"
    stream.mkdir()
    data = gzip.compress("".join(contract.store_line(r) for r in _records(50)).encode())
    (stream / "events.log.2.gz").write_bytes(data[: len(data) - 20])
    reading = read_store(tmp_path)
    assert reading.skipped == {"unreadable compressed tail": 1}
    assert 0 < len(reading.events) <= 50


def test_filters_by_tag_and_time(tmp_path):
    (tmp_path / "events").mkdir()
    records = _records(3, tag="bundle.verify") + _records(3, start=1772438500.0, tag="audit.run")
    (tmp_path / "events" / "e.log").write_text("".join(map(contract.store_line, records)))
    assert len(read_store(tmp_path, tag="bundle").events) == 3
    assert len(read_store(tmp_path, tag="airgap.audit.run").events) == 3
    assert len(read_store(tmp_path, tag="airgap.*.run").events) == 3
    assert len(read_store(tmp_path, tag="audit.run.more").events) == 0
    assert [r["fields"]["n"] for r in read_store(tmp_path, since=1772438501.0).events] == [1, 2]


@pytest.mark.parametrize(
    ("tag", "pattern", "matches"),
    [
        ("airgap.bundle.verify", "bundle", True),
        ("airgap.bundle.verify", "bundle.verify", True),
        ("airgap.bundles.verify", "bundle", False),
        ("airgap.audit.run", "airgap.*", True),
    ],
)
def test_tag_patterns(tag, pattern, matches):
    assert tag_matches(tag, pattern) is matches


def test_a_missing_store_is_a_one_line_error(tmp_path):
    with pytest.raises(BadInputError, match=r"events store .*/events: no such directory"):
        read_store(tmp_path / "nowhere")
