"""Readers: golden files (<name>.log -> <name>.json), gzip (whole, rotated and cut off), time order, window."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from log_analysis.readers import ReadOptions, discover_inputs
from log_analysis.readers.records import read_records
from log_analysis.timespec import parse_time

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
READERS = FIXTURES / "readers"
POLICY = json.loads((FIXTURES / "policy.json").read_text())
CASES = sorted(p.stem for p in READERS.glob("*.log"))


def _document(records: list[dict], files: list) -> dict:
    return {
        "records": records,
        "files": [
            {
                "format": f.format,
                "lines": f.lines,
                "used": f.used,
                "outside_window": f.outside_window,
                "skipped": dict(sorted(f.skipped.items())),
                "damaged_gzip": f.damaged_gzip,
            }
            for f in files
        ],
    }


@pytest.mark.parametrize("name", CASES)
def test_reader_matches_golden_file(name):
    records, files = read_records([READERS / f"{name}.log"], POLICY)
    actual = _document(records, files)
    golden = READERS / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=1) + "\n")
    assert actual == json.loads(golden.read_text())


def test_every_damaged_line_is_counted_by_reason_and_never_fatal():
    _, files = read_records([READERS / "damaged_lines.log"], POLICY)
    skipped = files[0].skipped
    assert {"truncated", "malformed", "binary", "over_long", "not_an_object", "missing_field", "bad_time"} <= set(
        skipped
    )
    assert files[0].used + sum(skipped.values()) == files[0].lines


@pytest.mark.parametrize("name", ["gateway_lines", "combined"])
def test_gzip_reads_the_same_as_plain(tmp_path, name):
    source = READERS / f"{name}.log"
    rotated = tmp_path / f"{name}.log.1.gz"
    rotated.write_bytes(gzip.compress(source.read_bytes()))
    plain, _ = read_records([source], POLICY)
    packed, files = read_records([rotated], POLICY)
    assert [{**r, "file": ""} for r in packed] == [{**r, "file": ""} for r in plain]
    assert not files[0].damaged_gzip


def _damaged(whole: bytes, how: str, at: float = 0.5) -> bytes:
    cut = int(len(whole) * at)
    if how == "cut":
        return whole[:cut]
    return whole[:cut] + bytes(b ^ 0xFF for b in whole[cut : cut + 2]) + whole[cut + 2 :]


def _varied_lines(name: str, count: int = 3000) -> bytes:
    """``count`` well-formed lines, each with its own path and size, so that any skipped line comes
    from the damage and the compressed file grows with its lines."""
    if name == "combined":
        line = '10.0.0.5 - alice [02/Mar/2026:09:00:{s:02d} +0100] "GET /api/pets/{i} HTTP/1.1" 200 {i} "-" "curl/8.0"'
        return "".join(line.format(s=i % 60, i=i) + "\n" for i in range(count)).encode()
    first = json.loads((READERS / "gateway_lines.log").read_text().splitlines()[0])
    return "".join(json.dumps(first | {"uri": f"/api/pets/{i}", "bytes_out": i}) + "\n" for i in range(count)).encode()


@pytest.mark.parametrize("name", ["gateway_lines", "combined"])
@pytest.mark.parametrize("how", ["cut", "corrupt"])
@pytest.mark.parametrize("at", [0.2, 0.5, 0.9])
def test_damaged_gzip_is_read_up_to_the_damage_and_flagged(tmp_path, name, how, at):
    lines = _varied_lines(name)
    damaged = tmp_path / f"{name}.log.2.gz"
    damaged.write_bytes(_damaged(gzip.compress(lines), how, at))
    records, files = read_records([damaged], POLICY)
    assert files[0].damaged_gzip
    # What lies before the damage is read, nothing after it.
    assert lines.count(b"\n") * at * 0.8 < len(records) < lines.count(b"\n") * min(1.0, at * 1.2)
    assert files[0].used + sum(files[0].skipped.values()) == files[0].lines
    assert files[0].used == len(records)


def test_damaged_json_gzip_beside_a_combined_log_rereads_both(tmp_path):
    cut = tmp_path / "access.log.2.gz"
    cut.write_bytes(_damaged(gzip.compress(_varied_lines("gateway_lines")), "cut"))
    records, files = read_records([cut, READERS / "combined.log"], POLICY)
    # Files are read oldest first, and both start at the same second: find each by its format.
    damaged, combined = (next(f for f in files if f.format == kind) for kind in ("json", "combined"))
    assert damaged.damaged_gzip and not combined.damaged_gzip
    assert combined.used == 5 and combined.skipped
    assert len(records) == damaged.used + combined.used


def test_forged_byte_counts_are_capped_not_fatal(tmp_path):
    line = (READERS / "gateway_lines.log").read_text().splitlines()[0]
    forged = json.loads(line) | {"bytes_out": 9_000_000_000_000_000_000}
    log = tmp_path / "forged.log"
    log.write_text((json.dumps(forged) + "\n") * 3)
    data, files = _aggregate_only(log)
    assert files[0].used == 3
    assert data.files[0][3] == 2**63 - 1


def _aggregate_only(log: Path):
    from log_analysis.engine import EngineOptions, engine, scan

    with engine(EngineOptions(threads=1)) as eng:
        return scan(eng, discover_inputs([log]), ReadOptions(), POLICY)


def test_gzip_with_a_bad_line_but_intact_is_not_flagged(tmp_path):
    rotated = tmp_path / "access.log.1.gz"
    rotated.write_bytes(gzip.compress((READERS / "damaged_lines.log").read_bytes()))
    _, files = read_records([rotated], POLICY)
    assert files[0].skipped
    assert not files[0].damaged_gzip


def test_gzip_with_a_broken_header_is_not_fatal(tmp_path):
    whole = bytearray(gzip.compress((READERS / "gateway_lines.log").read_bytes()))
    whole[3] = 0xE0  # reserved flag bits: no gzip reader may accept the member
    broken = tmp_path / "access.log.3.gz"
    broken.write_bytes(bytes(whole))
    _, files = read_records([broken], POLICY)
    assert files[0].damaged_gzip
    assert files[0].used == 0


def test_files_are_read_oldest_first_whatever_their_names(tmp_path):
    lines = (READERS / "gateway_lines.log").read_text().splitlines(keepends=True)
    (tmp_path / "a-newer.log").write_text(lines[1].replace("2026-03-02", "2026-03-05"))
    (tmp_path / "b-older.log").write_text(lines[0])
    with gzip.open(tmp_path / "c-middle.log.gz", "wt") as stream:
        stream.write(lines[0].replace("2026-03-02", "2026-03-03"))
    inputs = discover_inputs([tmp_path])
    assert [i.path.name for i in inputs] == ["b-older.log", "c-middle.log.gz", "a-newer.log"]


def test_since_and_until_count_lines_outside_the_window():
    options = ReadOptions(since=parse_time("2026-03-02T08:00:01Z"), until=parse_time("2026-03-02T08:00:04Z"))
    records, files = read_records([READERS / "gateway_lines.log"], POLICY, options)
    assert [r["ts"] for r in records] == [1772438401, 1772438402, 1772438403]
    assert files[0].outside_window == 3


def test_a_directory_of_logs_and_a_missing_file():
    inputs = discover_inputs([READERS])
    assert {i.format for i in inputs} == {"json", "combined"}
    from airgapctl.errors import BadInputError

    with pytest.raises(BadInputError, match="no such log file"):
        discover_inputs([READERS / "absent.log"])


def test_time_specs():
    assert parse_time("2026-03-02") == 1772409600
    assert parse_time("2026-03-02T01:00:00+01:00") == 1772409600
    assert parse_time("24h", now=1772409600) == 1772409600 - 86400
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_copied_fixture_still_matches(tmp_path):
    """Golden output does not depend on where the file lives (only its name is recorded)."""
    shutil.copy(READERS / "combined.log", tmp_path / "combined.log")
    records, _ = read_records([tmp_path / "combined.log"], POLICY)
    assert records == json.loads((READERS / "combined.json").read_text())["records"]


def test_thousands_of_lines_cut_inside_json_are_counted_not_fatal(tmp_path):
    """Cut lines that begin as the gateway's JSON are truncated lines, whatever their number."""
    good = (READERS / "gateway_lines.log").read_text().splitlines(keepends=True)
    log = tmp_path / "access.log"
    with log.open("w") as stream:
        for i in range(6000):
            stream.write(good[i % len(good)] if i % 3 else good[0][: 20 + i % 60] + "\n")
    _, files = read_records([log], POLICY)
    assert files[0].lines == 6000 and files[0].used == 4000
    assert files[0].skipped == {"truncated": 2000}
