"""Reading the Debian mirror from apt sources, in both formats, without hard-coding a host."""

from __future__ import annotations

import pytest

from airgapctl.errors import EnvironmentProblem, ExitCode
from airgapctl.lab.apt_sources import MIRROR_ENV, debian_mirror

DEB822 = """\
Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


@pytest.fixture
def apt_etc(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources_give_the_bookworm_main_uri(apt_etc):
    (apt_etc / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian_mirror("bookworm", apt_etc) == "http://mirror.example/debian"


def test_disabled_and_deb_src_stanzas_are_ignored(apt_etc):
    (apt_etc / "sources.list.d" / "a.sources").write_text(
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\nComponents: main\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
        "Types: deb\nURIs: http://on.example/debian\nSuites: bookworm\nComponents: main contrib\n"
    )
    assert debian_mirror("bookworm", apt_etc) == "http://on.example/debian"


def test_one_line_format_with_options_and_comments(apt_etc):
    (apt_etc / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main non-free  # trailing\n"
    )
    assert debian_mirror("bookworm", apt_etc) == "http://one.example/debian"


def test_security_suite_alone_does_not_count(apt_etc):
    (apt_etc / "sources.list").write_text("deb http://sec.example/debian-security bookworm-security main\n")
    with pytest.raises(EnvironmentProblem) as exc:
        debian_mirror("bookworm", apt_etc)
    assert exc.value.exit_code == ExitCode.ENVIRONMENT
    assert "no apt source for Debian bookworm main" in exc.value.message
    assert MIRROR_ENV in exc.value.hint


def test_environment_override_wins(apt_etc, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, "http://override.example/debian")
    assert debian_mirror("bookworm", apt_etc) == "http://override.example/debian"
