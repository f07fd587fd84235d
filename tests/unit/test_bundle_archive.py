"""Pack deterministically; unpack refusing every unsafe entry, writing nothing outside dest."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from pathlib import Path

import pytest

from airgapctl.bundle import pack_bundle, unpack_bundle, verify_bundle
from airgapctl.errors import AirgapError, BadInputError, ExitCode
from tests.unit.test_bundle_support import make_bundle, make_keys, tree_snapshot


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


def test_pack_is_deterministic_and_unpacks_to_a_verifiable_bundle(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    first = pack_bundle(root, tmp_path / "one.tar.gz")
    pack_bundle(root, tmp_path / "two.tar.gz")
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    assert first.compressed
    with tarfile.open(tmp_path / "one.tar.gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members[:2]] == ["manifest.json", "manifest.json.sig"]
    assert all((m.mtime, m.uid, m.gid, m.uname, m.mode) == (0, 0, 0, "", 0o644) for m in members)
    result = unpack_bundle(tmp_path / "one.tar.gz", tmp_path / "out")
    assert result.files == len(members)
    assert tree_snapshot(tmp_path / "out") == tree_snapshot(root)
    assert verify_bundle(tmp_path / "out", keys[1]).files == len(members) - 2


def test_pack_refuses_an_unsealed_directory_and_an_archive_inside_the_bundle(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    with pytest.raises(BadInputError, match="inside the bundle"):
        pack_bundle(root, root / "self.tar")
    (root / "manifest.json.sig").unlink()
    with pytest.raises(BadInputError, match=re.escape("no manifest.json.sig")):
        pack_bundle(root, tmp_path / "x.tar")


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **fields) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], compress: bool = False) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    path.write_bytes(gzip.compress(buffer.getvalue()) if compress else buffer.getvalue())
    return path


def _refused(tmp_path: Path, members, message: str, **limits) -> None:
    """Unpacking is refused with code 17 naming the member; nothing lands outside dest; dest is empty."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    archive = _archive(tmp_path / "evil.tar", [_member("ok.txt", data=b"fine"), *members])
    with pytest.raises(AirgapError) as error:
        unpack_bundle(archive, sandbox / "dest", **limits)
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY == 17
    assert message in error.value.message
    assert [p.name for p in sandbox.iterdir()] == ["dest"]
    assert list((sandbox / "dest").iterdir()) == []


def test_absolute_path_is_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    _refused(tmp_path, [_member(str(target), data=b"x")], f"'{target}' is an absolute path")
    assert not target.exists()


def test_dot_dot_traversal_is_refused(tmp_path):
    _refused(tmp_path, [_member("a/../../escaped.txt", data=b"x")], "'a/../../escaped.txt' climbs out")
    assert not (tmp_path / "escaped.txt").exists()


def test_symlink_is_refused(tmp_path):
    _refused(tmp_path, [_member("link", tarfile.SYMTYPE, linkname="/etc")], "'link' is a symlink to '/etc'")


def test_hard_link_is_refused(tmp_path):
    _refused(tmp_path, [_member("hard", tarfile.LNKTYPE, linkname="ok.txt")], "'hard' is a hard link to 'ok.txt'")


@pytest.mark.parametrize(
    ("kind", "what"),
    [(tarfile.CHRTYPE, "a character device"), (tarfile.BLKTYPE, "a block device"), (tarfile.FIFOTYPE, "a fifo")],
)
def test_devices_and_fifos_are_refused(tmp_path, kind, what):
    _refused(tmp_path, [_member("dev/thing", kind, devmajor=1, devminor=3)], f"'dev/thing' is {what}")


def test_non_canonical_and_duplicate_names_are_refused(tmp_path):
    _refused(tmp_path, [_member("./ok2.txt", data=b"x")], "'./ok2.txt' is not a plain relative path")


def test_duplicate_member_is_refused(tmp_path):
    _refused(tmp_path, [_member("ok.txt", data=b"again")], "'ok.txt' appears twice")


def test_total_size_limit_is_enforced_before_writing(tmp_path):
    _refused(
        tmp_path,
        [_member("big.bin", data=b"\0" * 5000)],
        "'big.bin' takes the unpacked size past",
        max_total_bytes=4096,
    )


def test_member_count_limit(tmp_path):
    members = [_member(f"f{i}", data=b"x") for i in range(5)]
    _refused(tmp_path, members, "more than 3 members (at 'f2')", max_members=3)


def test_member_larger_than_the_manifest_claims_is_refused(tmp_path):
    manifest = json.dumps({"files": [{"path": "data.bin", "size": 10}]}).encode()
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    archive = _archive(
        tmp_path / "a.tar", [_member("manifest.json", data=manifest), _member("data.bin", data=b"x" * 100)]
    )
    with pytest.raises(AirgapError, match=re.escape("'data.bin' is 100 bytes, the manifest lists 10")) as error:
        unpack_bundle(archive, sandbox / "dest")
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY
    assert list((sandbox / "dest").iterdir()) == []


def test_header_declaring_a_huge_member_is_refused_unread(tmp_path):
    info = tarfile.TarInfo("bomb.bin")
    info.size = 1 << 40  # 1 TiB declared; the archive holds only the header
    (tmp_path / "bomb.tar").write_bytes(info.tobuf(tarfile.PAX_FORMAT) + b"\0" * 1024)
    with pytest.raises(AirgapError, match=re.escape("'bomb.bin' takes the unpacked size past")) as error:
        unpack_bundle(tmp_path / "bomb.tar", tmp_path / "dest")
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY


def test_gzip_bomb_is_stopped_by_the_size_limit(tmp_path):
    archive = _archive(tmp_path / "bomb.tar.gz", [_member("zeros.bin", data=b"\0" * (8 << 20))], compress=True)
    assert archive.stat().st_size < 64 * 1024
    with pytest.raises(AirgapError, match=re.escape("'zeros.bin' takes the unpacked size past")) as error:
        unpack_bundle(archive, tmp_path / "dest", max_total_bytes=1 << 20)
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY
    assert list((tmp_path / "dest").iterdir()) == []


def test_oversized_pax_header_is_refused_unread(tmp_path):
    info, data = _member("ok.txt", data=b"x")
    info.pax_headers = {"comment": "x" * (5 << 20)}
    with pytest.raises(AirgapError, match="extended header of") as error:
        unpack_bundle(_archive(tmp_path / "pax.tar", [(info, data)]), tmp_path / "dest")
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY


def test_truncated_archive_is_refused(tmp_path):
    archive = _archive(tmp_path / "t.tar", [_member("a.bin", data=b"y" * 4000)])
    archive.write_bytes(archive.read_bytes()[:2048])
    with pytest.raises(AirgapError) as error:
        unpack_bundle(archive, tmp_path / "dest")
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY
    assert list((tmp_path / "dest").iterdir()) == []


def test_unpack_refuses_a_non_empty_destination(tmp_path, keys):
    root = make_bundle(tmp_path / "b", keys[0])
    pack_bundle(root, tmp_path / "b.tar")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "keep.txt").write_text("mine")
    with pytest.raises(BadInputError, match="not empty"):
        unpack_bundle(tmp_path / "b.tar", tmp_path / "dest")
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["keep.txt"]


def test_sparse_member_is_refused_before_its_map_is_read(tmp_path):
    info = tarfile.TarInfo("sparse.img")
    info.type = tarfile.GNUTYPE_SPARSE
    (tmp_path / "s.tar").write_bytes(info.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024)
    with pytest.raises(AirgapError, match=re.escape("'sparse.img' is a sparse file")) as error:
        unpack_bundle(tmp_path / "s.tar", tmp_path / "dest")
    assert error.value.exit_code == ExitCode.BUNDLE_UNSAFE_ENTRY
