"""Split across media: each part verifiable alone; missing, altered and foreign parts named; join."""

from __future__ import annotations

import os
import shutil

import pytest

from airgapctl.bundle import join_parts, parse_size, split_bundle, verify_bundle, verify_part
from airgapctl.errors import AirgapError, BadInputError, ExitCode
from tests.unit.test_bundle_support import make_bundle, make_keys, tree_snapshot

FILES = {"wheels/big.whl": os.urandom(20_000), "specs/a.yaml": b"openapi: 3.1.0\n", "meta/notes.txt": b"n" * 3000}


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


@pytest.fixture
def parts(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0], files=FILES)
    result = split_bundle(root, tmp_path / "parts", parse_size("8K"), keys[0])
    return result


def _fails(call, code: ExitCode, message: str) -> None:
    with pytest.raises(AirgapError) as error:
        call()
    assert error.value.exit_code == code
    assert message in error.value.message


@pytest.mark.parametrize(
    ("text", "size"),
    [("700M", 700 << 20), ("4G", 4 << 30), ("4GiB", 4 << 30), ("4GB", 4_000_000_000), ("1.5k", 1536), ("2048", 2048)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "12Q", "-5M", "1", "M"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(BadInputError):
        parse_size(text)


def test_every_part_sits_with_the_signed_index_and_verifies_alone(tmp_path, keys, parts):
    assert len(parts.parts) >= 3
    for number, rel in enumerate(parts.parts, start=1):
        medium = tmp_path / f"stick{number}"
        shutil.copytree((tmp_path / "parts" / rel).parent, medium)  # only this part's directory travels
        assert sorted(p.name for p in medium.iterdir()) == sorted(
            [f"site-a-1.part{number:04d}", "parts.json", "parts.json.sig"]
        )
        check = verify_part(medium, keys[1])
        assert (check.number, check.count, check.bundle, check.sequence) == (number, len(parts.parts), "site-a", 1)
        assert os.path.getsize(medium / f"site-a-1.part{number:04d}") <= 8192


def test_join_reassembles_a_bundle_that_verifies(tmp_path, keys, parts):
    media = [tmp_path / "parts" / f"part{n:04d}" for n in range(len(parts.parts), 0, -1)]  # any order
    result = join_parts(media, tmp_path / "joined", keys[1])
    assert (result.parts, result.bundle, result.sequence) == (len(parts.parts), "site-a", 1)
    assert tree_snapshot(tmp_path / "joined") == tree_snapshot(tmp_path / "b")
    assert verify_bundle(tmp_path / "joined", keys[1]).files == len(FILES)


def test_a_missing_part_is_named(tmp_path, keys, parts):
    media = sorted((tmp_path / "parts").iterdir())
    del media[1]
    _fails(
        lambda: join_parts(media, tmp_path / "joined", keys[1]),
        ExitCode.BUNDLE_PART_MISSING,
        f"1 of {len(parts.parts)} parts not given: site-a-1.part0002",
    )
    assert not (tmp_path / "joined").exists()


def test_a_medium_without_its_part_is_named(tmp_path, keys, parts):
    (tmp_path / "parts" / "part0002" / "site-a-1.part0002").unlink()
    _fails(
        lambda: verify_part(tmp_path / "parts" / "part0002", keys[1]),
        ExitCode.BUNDLE_PART_MISSING,
        "part0002 holds a part index but no part file",
    )


def test_an_altered_part_is_named(tmp_path, keys, parts):
    part = tmp_path / "parts" / "part0002" / "site-a-1.part0002"
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF
    part.write_bytes(bytes(data))
    _fails(
        lambda: verify_part(part, keys[1]),
        ExitCode.BUNDLE_PART_ALTERED,
        f"part altered (or from another bundle): {part}",
    )
    media = sorted((tmp_path / "parts").iterdir())
    _fails(lambda: join_parts(media, tmp_path / "joined", keys[1]), ExitCode.BUNDLE_PART_ALTERED, "site-a-1.part0002")


def _other_bundle_parts(tmp_path, keys, sequence: int):
    files = {**FILES, "specs/a.yaml": b"openapi: 3.1.1\n"}
    root = make_bundle(tmp_path / f"other{sequence}", keys[0], sequence=sequence, files=files)
    return split_bundle(root, tmp_path / f"other-parts{sequence}", parse_size("8K"), keys[0])


def test_a_part_of_another_bundle_beside_this_index_is_named(tmp_path, keys, parts):
    _other_bundle_parts(tmp_path, keys, 2)
    medium = tmp_path / "parts" / "part0002"
    foreign = tmp_path / "other-parts2" / "part0002" / "site-a-2.part0002"
    (medium / "site-a-1.part0002").unlink()
    shutil.copy(foreign, medium)
    _fails(
        lambda: verify_part(medium, keys[1]),
        ExitCode.BUNDLE_FOREIGN_PART,
        "site-a-2.part0002 belongs to bundle site-a sequence 2, but the index beside it is for bundle site-a "
        "sequence 1",
    )


def test_mixing_media_of_two_bundles_is_named_at_join(tmp_path, keys, parts):
    _other_bundle_parts(tmp_path, keys, 2)
    media = sorted((tmp_path / "parts").iterdir())
    media[1] = tmp_path / "other-parts2" / "part0002"  # a whole medium from the next bundle
    _fails(
        lambda: join_parts(media, tmp_path / "joined", keys[1]),
        ExitCode.BUNDLE_FOREIGN_PART,
        "site-a-2.part0002 belongs to bundle site-a sequence 2",
    )


def test_a_tampered_index_fails_its_signature(tmp_path, keys, parts):
    index = tmp_path / "parts" / "part0001" / "parts.json"
    index.write_text(index.read_text().replace('"sequence": 1', '"sequence": 9'))
    _fails(lambda: verify_part(index.parent, keys[1]), ExitCode.BUNDLE_SIGNATURE, "signature does not verify")


def test_split_refuses_a_bundle_that_does_not_verify(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0], files=FILES)
    (root / "specs" / "a.yaml").write_bytes(b"changed after sealing\n")
    _fails(lambda: split_bundle(root, tmp_path / "parts", 8192, keys[0]), ExitCode.BUNDLE_FILE_ALTERED, "specs/a.yaml")
    assert not (tmp_path / "parts").exists()


def test_split_with_another_key_is_refused(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0], files=FILES)
    other = make_keys(tmp_path / "other", "other")
    _fails(lambda: split_bundle(root, tmp_path / "parts", 8192, other[0]), ExitCode.BUNDLE_SIGNATURE, "does not verify")
