"""How spec problems are shown to a person: in file order, identical ones grouped, counted per kind.

A large multi-file spec with one systematic mistake has it hundreds of times; printed one per
line, it buries everything else. Problems are ordered as a reader meets them (the root file
first, then the others by name, each in document order), problems with the same message and
fix are one group (the first in full, then "… and N more like this" with a few locations), and
a summary line counts them per kind. ``--json`` keeps every problem, and the groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from airgapctl.specs.model import KINDS, SpecIssue

LOCATIONS_SHOWN = 3


@dataclass(frozen=True)
class Group:
    """Problems that say the same thing in different places."""

    first: SpecIssue
    more: tuple[SpecIssue, ...]

    @property
    def count(self) -> int:
        return 1 + len(self.more)


def ordered(issues: Iterable[SpecIssue], root: str) -> list[SpecIssue]:
    """The root file first, then the others by name; within a file, in the order they are written."""
    return sorted(issues, key=lambda i: (i.file != root, i.file, i.position, i.pointer))


def grouped(issues: Iterable[SpecIssue], root: str) -> list[Group]:
    groups: dict[tuple[str, str, str | None], list[SpecIssue]] = {}
    for issue in ordered(issues, root):
        groups.setdefault((issue.kind, issue.message, issue.fix), []).append(issue)
    return [Group(members[0], tuple(members[1:])) for members in groups.values()]


def line(issue: SpecIssue) -> str:
    """``FILE:POINTER: message; fix: ...``"""
    return f"{issue}; fix: {issue.fix}" if issue.fix else str(issue)


def text_lines(issues: Sequence[SpecIssue], root: str) -> list[str]:
    """The problems of one spec as printed: each group's first problem, then where the rest are."""
    lines = []
    groups = grouped(issues, root)
    for group in groups:
        lines.append(line(group.first))
        if group.more:
            # Locations in the first one's file are given by their pointer alone.
            places = ", ".join(
                (i.pointer or "/") if i.file == group.first.file else f"{i.file}:{i.pointer or '/'}"
                for i in group.more[:LOCATIONS_SHOWN]
            )
            rest = ", …" if len(group.more) > LOCATIONS_SHOWN else ""
            lines.append(f"  … and {len(group.more)} more like this: {places}{rest}")
    if len(groups) < len(issues) or len(counts(issues)) > 1:  # else the error line says it all
        lines.append(f"{root}: {summary(issues)}")
    return lines


def counts(issues: Iterable[SpecIssue]) -> dict[str, int]:
    """Problems per kind, most frequent first."""
    return dict(Counter(issue.kind for issue in issues).most_common())


def summary(issues: Sequence[SpecIssue]) -> str:
    """``601 problems ($ref where OpenAPI allows none: 600, OpenAPI structure: 1)``"""
    total = len(issues)
    per_kind = ", ".join(f"{KINDS.get(kind, kind)}: {n}" for kind, n in counts(issues).items())
    return f"{total} problem{'s' if total != 1 else ''} ({per_kind})"


def issue_json(issue: SpecIssue) -> dict[str, str]:
    """One problem in ``--json``: the file, the pointer, and the message with the fix."""
    message = f"{issue.message}; fix: {issue.fix}" if issue.fix else issue.message
    return {"file": issue.file, "pointer": issue.pointer, "message": message}


def groups_json(issues: Sequence[SpecIssue], root: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": group.first.kind,
            "message": group.first.message,
            "fix": group.first.fix,
            "count": group.count,
            "locations": [{"file": i.file, "pointer": i.pointer} for i in (group.first, *group.more)],
        }
        for group in grouped(issues, root)
    ]
