"""Path parameter regexes: what each schema admits, and that none can match '/'."""

from __future__ import annotations

import re

import pytest

from airgapctl.specs.path_regex import SEGMENT_ANY, param_regex, pattern_regex, slash_safe


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer"}, ["0", "-3", "42"], ["a", "1.5", ""]),
        ({"type": "integer", "minimum": 0}, ["0", "42"], ["-3"]),
        ({"enum": ["thumb", "full"]}, ["thumb", "full"], ["other", "thumbs"]),
        ({"type": "string", "format": "uuid"}, ["123e4567-e89b-12d3-a456-426614174000"], ["123", "zzz"]),
        ({"type": "string", "format": "date"}, ["2024-01-31"], ["31.01.2024"]),
        ({"type": ["string", "null"], "pattern": "^[a-z]{2}$"}, ["ab"], ["abc", "AB"]),
        ({"type": "string"}, ["a b", "x.y"], ["", "a/b"]),
        ({"type": "string", "minLength": 2, "maxLength": 3}, ["ab", "abc"], ["a", "abcd"]),
        ({"type": "boolean"}, ["true", "false"], ["yes"]),
    ],
)
def test_parameter_regexes(schema, good, bad):
    regex, warning = param_regex(schema)
    assert warning is None
    for value in good:
        assert re.fullmatch(regex, value), (regex, value)
    for value in [*bad, "a/b", "1/2"]:
        assert not re.fullmatch(regex, value), (regex, value)


@pytest.mark.parametrize("pattern", [".*", "[^x]+", "\\S+", "\\W+", "[a-z./]+x?", "(a|.)+"])
def test_rewritten_patterns_cannot_match_a_slash(pattern):
    regex, _ = pattern_regex(pattern)
    assert not re.fullmatch(regex, "a/b")


@pytest.mark.parametrize("pattern", ["a/b", "[!-~]+", "(?=a)b", "(a)\\1", "a++", "\\p{L}+", "[abc"])
def test_unenforceable_patterns_fall_back_with_a_warning(pattern):
    regex, warning = pattern_regex(pattern)
    assert regex == SEGMENT_ANY
    assert warning and repr(pattern) in warning


def test_unanchored_patterns_keep_json_schema_meaning():
    regex, _ = pattern_regex("[0-9]{3}")
    assert re.fullmatch(regex, "ab123cd")
    assert not re.fullmatch(regex, "ab12cd")


def test_user_named_groups_become_plain_groups():
    assert slash_safe("(?P<x>ab)") == "(?:ab)"
