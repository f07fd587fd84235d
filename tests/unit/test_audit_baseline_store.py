"""baseline.json keeps the address filter deflated while it is nearly empty, as it is otherwise, and
reads both (and the raw form earlier versions wrote); a damaged filter is refused, never inflated
without bound."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from airgapctl.errors import BadInputError
from log_analysis.baseline import Baseline, load_baseline, save_baseline
from log_analysis.baseline.bloom import BloomFilter


def _filter(addresses: int, bits: int = 1 << 23) -> BloomFilter:
    bloom = BloomFilter(bits=bits)
    for number in range(addresses):
        bloom.add(f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}")
    return bloom


def _round_trip(bloom: BloomFilter) -> BloomFilter:
    return BloomFilter.from_json(json.loads(json.dumps(bloom.to_json())))


def test_a_nearly_empty_filter_is_kept_deflated_and_reads_back_the_same():
    bloom = _filter(300)
    kept = bloom.to_json()
    assert kept["encoding"] == "deflate"
    assert len(kept["array"]) < 50_000  # not the 1.4 MB of the raw filter
    again = _round_trip(bloom)
    assert (again.bits, again.hashes, again.added, again.array) == (bloom.bits, bloom.hashes, 300, bloom.array)
    assert "10.0.0.7" in again and "192.0.2.1" not in again


def test_a_full_filter_is_kept_as_it_is():
    bloom = _filter(3000, bits=1 << 14)
    kept = bloom.to_json()
    assert "encoding" not in kept
    assert base64.b64decode(kept["array"]) == bytes(bloom.array)
    assert _round_trip(bloom).array == bloom.array


def test_the_raw_form_of_earlier_baselines_still_reads():
    bloom = _filter(20)
    earlier = {"bits": bloom.bits, "hashes": bloom.hashes, "added": 20, "array": base64.b64encode(bloom.array).decode()}
    assert BloomFilter.from_json(earlier).array == bloom.array


@pytest.mark.parametrize(
    "damage",
    [
        {"encoding": "deflate", "array": base64.b64encode(zlib.compress(bytes(8 << 20))).decode()},  # too big
        {"encoding": "deflate", "array": base64.b64encode(b"not deflated").decode()},
        {"encoding": "lz4"},
    ],
)
def test_a_damaged_filter_makes_the_baseline_unusable(tmp_path, damage):
    baseline = Baseline(first=0.0, last=1.0, addresses=_filter(5))
    save_baseline(tmp_path, baseline)
    document = json.loads((tmp_path / "baseline.json").read_text())
    document["addresses"] |= damage
    (tmp_path / "baseline.json").write_text(json.dumps(document))
    with pytest.raises(BadInputError, match="not a usable audit baseline"):
        load_baseline(tmp_path)


def test_a_saved_baseline_loads_back(tmp_path):
    baseline = Baseline(first=0.0, last=1.0, addresses=_filter(5))
    save_baseline(tmp_path, baseline)
    loaded = load_baseline(tmp_path)
    assert loaded is not None and loaded.addresses.array == baseline.addresses.array
    assert (tmp_path / "baseline.json").stat().st_size < 20_000
