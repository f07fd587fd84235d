"""Report retention: latest links and pruning by run, never touching files that are not reports."""

from __future__ import annotations

from log_analysis.reports.retention import link_latest, prune_reports


def _run(directory, stamp, exts=("json", "html")):
    paths = [directory / f"audit-{stamp}.{ext}" for ext in exts]
    for path in paths:
        path.write_text(stamp)
    return paths


def test_prune_keeps_the_newest_runs_whole(tmp_path):
    for stamp in ("20260301T060000Z", "20260302T060000Z", "20260303T060000Z"):
        _run(tmp_path, stamp)
    (tmp_path / "audit-notes.json").write_text("named like a report, but no stamp")
    removed = prune_reports(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == ["audit-20260301T060000Z.html", "audit-20260301T060000Z.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "audit-20260302T060000Z.html",
        "audit-20260302T060000Z.json",
        "audit-20260303T060000Z.html",
        "audit-20260303T060000Z.json",
        "audit-notes.json",
    ]


def test_prune_with_fewer_runs_than_keep_removes_nothing(tmp_path):
    _run(tmp_path, "20260301T060000Z")
    assert prune_reports(tmp_path, keep=5) == []


def test_latest_is_replaced_in_place_and_relative(tmp_path):
    first = _run(tmp_path, "20260301T060000Z")
    link_latest(tmp_path, first)
    second = _run(tmp_path, "20260302T060000Z")
    links = link_latest(tmp_path, second)
    assert [link.name for link in links] == ["latest.json", "latest.html"]
    assert (tmp_path / "latest.json").readlink().as_posix() == "audit-20260302T060000Z.json"
    assert (tmp_path / "latest.html").read_text() == "20260302T060000Z"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".latest")]


def test_prune_drops_latest_links_left_dangling(tmp_path):
    link_latest(tmp_path, _run(tmp_path, "20260301T060000Z", exts=("html",)))
    link_latest(tmp_path, _run(tmp_path, "20260302T060000Z", exts=("json",)))
    prune_reports(tmp_path, keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit-20260302T060000Z.json", "latest.json"]
