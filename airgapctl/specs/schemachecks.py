"""JSON Schema keywords as closures, the parts FastValidator (metaschema.py) compiles schemas from.

Each check takes an instance and returns None when it is invalid, else the property names
it evaluated (what 2020-12's ``unevaluatedProperties`` needs; EMPTY when nobody asks).
Semantics follow jsonschema's: ``true`` is not ``1``, patterns are ``re.search``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# A check returns None when the instance is invalid, else the property names it evaluated.
Check = Callable[[Any], "frozenset[str] | set[str] | None"]
EMPTY: frozenset[str] = frozenset()


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": is_number,
    "integer": lambda value: is_number(value) and (isinstance(value, int) or value.is_integer()),
}
DRAFT4_INTEGER = lambda value: isinstance(value, int) and not isinstance(value, bool)  # noqa: E731 - 1.0 is no integer


def equal(one: Any, two: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[key], two[key]) for key in one)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, (dict, list)) or isinstance(two, (dict, list)):
        return False
    return one == two


def unique(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return not any(equal(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items)))


def type_check(tests: list[Callable[[Any], bool]]) -> Check:
    if len(tests) == 1:  # the common case, without a generator per node
        test = tests[0]
        return lambda i: EMPTY if test(i) else None
    return lambda i: EMPTY if any(test(i) for test in tests) else None


def enum_check(allowed: list[Any]) -> Check:
    if all(isinstance(value, str) for value in allowed):  # a string equals only an equal string
        strings = frozenset(allowed)
        return lambda i: EMPTY if isinstance(i, str) and i in strings else None
    return lambda i: EMPTY if any(equal(i, value) for value in allowed) else None


def key_matcher(pattern: str) -> Callable[[str], Any]:
    """``^x-`` as a startswith: patternProperties test every key of every object."""
    if re.fullmatch(r"\^(?:[A-Za-z0-9_-]|\\/)*", pattern):
        prefix = pattern[1:].replace("\\/", "/")
        return lambda key: key.startswith(prefix)
    return re.compile(pattern).search


def all_of(checks: list[Check], annotate: bool) -> Check:
    if len(checks) == 1:
        return checks[0]

    def every(instance: Any) -> Any:
        evaluated: Any = EMPTY
        for check in checks:
            result = check(instance)
            if result is None:
                return None
            if annotate and result:
                evaluated = evaluated | result
        return evaluated

    return every


def properties_check(props: dict[str, Check], patterns: list, additional: Check | None, annotate: bool) -> Check:
    def properties(instance: Any) -> Any:
        if not isinstance(instance, dict):
            return EMPTY
        for key, value in instance.items():
            matched = False
            check = props.get(key)
            if check is not None:
                matched = True
                if check(value) is None:
                    return None
            for matches, pattern_check in patterns:
                if matches(key):
                    matched = True
                    if pattern_check(value) is None:
                        return None
            if not matched and additional is not None and additional(value) is None:
                return None
        if not annotate:
            return EMPTY
        return set(instance) if additional is not None else {k for k in instance if k in props or _any(patterns, k)}

    return properties


def _any(patterns: list, key: str) -> bool:
    return any(matches(key) for matches, _ in patterns)


def items_check(positional: list[Check], rest: Check) -> Check:
    def items(instance: Any) -> Any:
        if isinstance(instance, list):
            for index, value in enumerate(instance):
                check = positional[index] if index < len(positional) else rest
                if check(value) is None:
                    return None
        return EMPTY

    return items


def size_check(kind: type, low: int | None, high: int | None) -> Check:
    def size(instance: Any) -> Any:
        if not isinstance(instance, kind):
            return EMPTY
        too_few = low is not None and len(instance) < low
        return None if too_few or (high is not None and len(instance) > high) else EMPTY

    return size


def _all_of(checks: list[Check], annotate: bool) -> Check:
    return all_of(checks, annotate) if checks else (lambda _: EMPTY)


def _any_of(checks: list[Check], annotate: bool) -> Check:
    def any_of(instance: Any) -> Any:
        passed = [result for result in (check(instance) for check in checks) if result is not None]
        if not passed:
            return None
        return set().union(*passed) if annotate else EMPTY

    def first_match(instance: Any) -> Any:  # without annotations one success settles it
        return EMPTY if any(check(instance) is not None for check in checks) else None

    return any_of if annotate else first_match


def _one_of(checks: list[Check], annotate: bool) -> Check:
    def one_of(instance: Any) -> Any:
        found = None
        for check in checks:
            result = check(instance)
            if result is not None:
                if found is not None:
                    return None  # more than one alternative matches
                found = result
        return found

    return one_of


COMBINATORS = {"allOf": _all_of, "anyOf": _any_of, "oneOf": _one_of}


def condition_check(test: Check, then: Check, otherwise: Check) -> Check:
    def condition(instance: Any) -> Any:
        evaluated = test(instance)
        branch = (then if evaluated is not None else otherwise)(instance)
        if branch is None:
            return None
        return (evaluated or EMPTY) | branch

    return condition


def dependent_check(schemas: dict[str, Check], annotate: bool) -> Check:
    def dependent(instance: Any) -> Any:
        evaluated: Any = EMPTY
        if isinstance(instance, dict):
            for prop, check in schemas.items():
                if prop in instance:
                    result = check(instance)
                    if result is None:
                        return None
                    evaluated = evaluated | result if annotate else EMPTY
        return evaluated

    return dependent
