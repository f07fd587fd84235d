"""The repository stands alone: no file refers to a path outside it, and every Markdown link resolves.

A clone carried across the gap has nothing beside it, so a reference to a sibling directory
or to the path of the machine it was written on is a dangling reference there.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve().relative_to(REPO).as_posix()

# A `../` chain that starts a path (not one inside a/../b, and not one after a variable such as
# {{ playbook_dir }}/../, which is relative to that variable), up to where the path ends.
RELATIVE_CHAIN = re.compile(r"(?<![\w.~/$}-])((?:\.\./)+[^\s'\"`)\]>,;|]*)")
# Absolute paths of the machine a checkout happens to live on: the checkout itself and the
# work area of the machines it is developed on (its parent directory may be anything, /tmp
# included, so a file naming an ordinary system directory is not flagged for that).
MACHINE_ROOTS = sorted({"/work/", f"{REPO}/"})

FENCE = re.compile(r"^(```|~~~).*?^\1", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _git(*args: str) -> list[str]:
    try:
        out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("this test reads the tracked files from git: run it in a git checkout with git installed")
    return [name for name in out.split("\0") if name]


@cache
def tracked() -> tuple[str, ...]:
    return tuple(_git("ls-files", "-z"))


@cache
def present() -> frozenset[str]:
    """Tracked files and new ones not ignored: what a link may point at."""
    return frozenset(tracked()) | frozenset(_git("ls-files", "-z", "--others", "--exclude-standard"))


@cache
def present_dirs() -> frozenset[str]:
    return frozenset(str(parent) for name in present() for parent in Path(name).parents if str(parent) != ".")


def text_of(name: str) -> str | None:
    """The file's text, or None for binaries, links and files deleted from the working tree."""
    path = REPO / name
    if path.is_symlink() or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def inside_repo(path: str) -> bool:
    return os.path.normpath(path) == str(REPO) or os.path.normpath(path).startswith(f"{REPO}/")


def outside_references(name: str, text: str) -> list[str]:
    found = [f"{name}: {root}" for root in MACHINE_ROOTS if re.search(rf"(?<![\w.~-]){re.escape(root)}", text)]
    base = (REPO / name).parent
    found += [f"{name}: {m[1]}" for m in RELATIVE_CHAIN.finditer(text) if not inside_repo(str(base / m[1]))]
    return found


def test_no_tracked_file_refers_outside_the_repository():
    problems = []
    for name in tracked():
        if name == THIS_FILE:
            continue
        path = REPO / name
        if path.is_symlink():
            if not inside_repo(str(path.parent / os.readlink(path))):
                problems.append(f"{name}: a link to {os.readlink(path)}")
            continue
        text = text_of(name)
        if text is not None:
            problems += outside_references(name, text)
    assert problems == [], "paths outside the repository"


def test_the_check_sees_an_escape():
    assert outside_references("README.md", "see `../planning/design/NOTES.md`")
    assert outside_references("docs/x.md", "[map](../../ARCHITECTURE.md)")
    assert outside_references("scripts/x.sh", "cd /work/main")
    assert not outside_references("docs/x.md", "[cli](../README.md) and a/../../b")
    assert not outside_references("roles/r/molecule/default/converge.yml", "{{ playbook_dir }}/../../../../tests")


def markdown_links(text: str) -> list[str]:
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def markdown_files() -> list[str]:
    return ["README.md", *sorted(path.relative_to(REPO).as_posix() for path in (REPO / "docs").glob("*.md"))]


def broken_links(name: str, text: str) -> list[str]:
    problems = []
    for link in markdown_links(text):
        target = link.split("#", 1)[0].split("?", 1)[0]
        if SCHEME.match(link) or not target:
            continue  # a web address, or an anchor in this page
        if target.startswith("/"):
            problems.append(f"{name}: {link} (absolute; use a path relative to {name})")
            continue
        resolved = os.path.normpath((REPO / name).parent / target)
        relative = os.path.relpath(resolved, REPO)
        if not inside_repo(resolved):
            problems.append(f"{name}: {link} (outside the repository)")
        elif relative not in present() and relative not in present_dirs():
            problems.append(f"{name}: {link} (no such file in the repository)")
    return problems


@pytest.mark.parametrize("name", markdown_files())
def test_every_relative_markdown_link_resolves(name):
    text = text_of(name)
    assert text is not None, f"{name} is missing"
    assert broken_links(name, text) == []


def test_the_link_check_sees_a_broken_link():
    assert broken_links("README.md", "[arch](docs/no-such-page.md)")
    assert broken_links("docs/x.md", "[up](../../elsewhere.md)")
    assert not broken_links("README.md", "[cli](docs/cli.md#airgapctl) [web](https://example.org) `[x](y)`")
