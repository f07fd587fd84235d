"""Conflicts that make a policy ambiguous or dangling; each names every place involved."""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
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


# What kind of problem stops a policy, and how the error line counts them.
POLICY_KINDS = {
    "unknown-name": "unknown name",
    "no-match": "grant that matches nothing",
    "no-operations": "grant from a spec without operations",
    "duplicate-name": "duplicate name",
    "duplicate-operation-id": "duplicate operationId",
    "ambiguous-route": "ambiguous routes",
    "bad-sync-window": "sync window that cannot be read",
    "bad-sync-upstream": "sync upstream that cannot be verified",
}


@dataclass(frozen=True)
class PolicyProblem:
    """One reason the policy cannot be compiled: where (in access.yml or a spec) and what, and the fix."""

    text: str  # "access.yml: /roles/0/allow/0 (role r): names unknown api 'x'"
    kind: str  # one of POLICY_KINDS
    fix: str | None = None

    def __str__(self) -> str:
        return self.text

    def line(self) -> str:
        return f"{self.text}; fix: {self.fix}" if self.fix else self.text

    def as_json(self) -> dict[str, str | None]:
        return {"message": self.text, "kind": self.kind, "fix": self.fix}


class PolicyConflictError(AirgapError):
    exit_code = ExitCode.FAILED

    def __init__(self, problems: list[PolicyProblem | str]) -> None:
        details = [p if isinstance(p, PolicyProblem) else PolicyProblem(p, "ambiguous-route") for p in problems]
        if len(details) == 1:  # the problem itself, not a count of one
            message, hint = details[0].text, details[0].fix or "fix access.yml or the spec and compile again"
        else:
            kinds = Counter(problem.kind for problem in details).most_common()
            per_kind = ", ".join(f"{POLICY_KINDS.get(kind, kind)}: {n}" for kind, n in kinds)
            message = f"the policy cannot be compiled: {len(details)} problems ({per_kind}); the first: {details[0]}"
            hint = "each problem is listed above; fix access.yml or the specs and compile again"
        super().__init__(message, hint=hint)
        self.details = details
        self.problems = [str(problem) for problem in details]


def did_you_mean(name: str, known: list[str], what: str) -> str:
    """``access.yml defines the roles: admin, reader`` and, when one is close, the likely one."""
    close = difflib.get_close_matches(name, known, n=1)
    listed = ", ".join(known) if known else "none"
    return (f"did you mean {close[0]!r}? " if close else "") + f"access.yml defines the {what}: {listed}"


def _place(entry: dict[str, Any]) -> str:
    return f"{entry['method']} {entry['gateway_path']} ({entry['source']['file']}:{entry['source']['pointer']})"


def _regexes_overlap(first: str, second: str) -> bool:
    if first == second or SEGMENT_ANY in (first, second):
        return True
    probes = PROBES + tuple(re.findall(r"[A-Za-z0-9_.~-]+", first + "|" + second)) + (DATE,)
    return any(re.fullmatch(first, p) and re.fullmatch(second, p) for p in probes)


def ambiguous_routes(entries: list[dict[str, Any]]) -> list[PolicyProblem]:
    """Pairs of same-method operations that can match one path with no literal to decide."""
    shapes: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        shapes[(entry["method"], len(split_template(entry["gateway_path"])))].append(entry)
    problems: set[str] = set()
    for group in shapes.values():
        _walk(group, 0, problems)
    fix = "make the paths differ by a literal segment, or give the parameters schemas that cannot both match"
    return [PolicyProblem(problem, "ambiguous-route", fix) for problem in sorted(problems)]


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


def duplicate_operation_ids(entries: list[dict[str, Any]]) -> list[PolicyProblem]:
    seen: dict[str, dict[str, Any]] = {}
    problems = []
    for entry in entries:
        if entry["id"] in seen:
            text = f"duplicate operationId {entry['id']}: {_place(seen[entry['id']])} and {_place(entry)}"
            problems.append(PolicyProblem(text, "duplicate-operation-id", "give each operation its own operationId"))
        else:
            seen[entry["id"]] = entry
    return problems
