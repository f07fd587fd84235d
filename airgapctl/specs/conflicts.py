"""Conflicts that make a policy ambiguous or dangling; each names every place involved."""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import combinations
from typing import Any

from airgapctl.errors import AirgapError, ExitCode
from airgapctl.specs.path_regex import DATE, SEGMENT_ANY, split_template

# Values that tell apart the parameter regexes path_regex produces: two regexes that both
# accept one of these can match the same segment.
PROBES = (
    "0",
    "1",
    "-1",
    "1.5",
    "abc",
    "ABC",
    "a1",
    "true",
    "false",
    "2024-01-31",
    "2024-01-31T10:00:00Z",
    "123e4567-e89b-12d3-a456-426614174000",
    "x-y_z.1",
)


class PolicyConflictError(AirgapError):
    exit_code = ExitCode.FAILED

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"the policy has {len(problems)} conflict{'s' if len(problems) != 1 else ''}: {problems[0]}",
            hint="each conflict is listed above; fix the specs or access.yml and compile again",
        )
        self.problems = problems


def _place(entry: dict[str, Any]) -> str:
    return f"{entry['method']} {entry['gateway_path']} ({entry['source']['file']}:{entry['source']['pointer']})"


def _regexes_overlap(first: str, second: str) -> bool:
    if first == second or SEGMENT_ANY in (first, second):
        return True
    probes = PROBES + tuple(re.findall(r"[A-Za-z0-9_.~-]+", first + "|" + second)) + (DATE,)
    return any(re.fullmatch(first, p) and re.fullmatch(second, p) for p in probes)


def ambiguous_routes(entries: list[dict[str, Any]]) -> list[str]:
    """Pairs of same-method operations that can match one path with no literal to decide."""
    shapes: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        shapes[(entry["method"], len(split_template(entry["gateway_path"])))].append(entry)
    problems: set[str] = set()
    for group in shapes.values():
        _walk(group, 0, problems)
    return sorted(problems)


def _walk(group: list[dict[str, Any]], position: int, problems: set[str]) -> None:
    if len(group) < 2:
        return
    if position == len(split_template(group[0]["gateway_path"])):
        for a, b in combinations(sorted(group, key=lambda e: e["id"]), 2):
            problems.add(f"ambiguous routes: {_place(a)} and {_place(b)} match the same paths")
        return
    literals: dict[str, list[dict[str, Any]]] = defaultdict(list)
    params: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in group:
        segment = split_template(entry["gateway_path"])[position]
        if segment.literal is not None:
            literals[segment.literal].append(entry)
        else:
            params[_segment_regex(entry, segment.param)].append(entry)
    # literal against template: the literal wins (or they never meet), so only like meets like.
    for same_literal in literals.values():
        _walk(same_literal, position + 1, problems)
    regexes = sorted(params)
    for i, first in enumerate(regexes):
        _walk(params[first], position + 1, problems)
        for second in regexes[i + 1 :]:
            if _regexes_overlap(first, second):
                _walk(params[first] + params[second], position + 1, problems)


def _segment_regex(entry: dict[str, Any], name: str | None) -> str:
    return next((p["regex"] for p in entry["path_params"] if p["name"] == name), SEGMENT_ANY)


def duplicate_operation_ids(entries: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, dict[str, Any]] = {}
    problems = []
    for entry in entries:
        if entry["id"] in seen:
            problems.append(f"duplicate operationId {entry['id']}: {_place(seen[entry['id']])} and {_place(entry)}")
        else:
            seen[entry["id"]] = entry
    return problems
