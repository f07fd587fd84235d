"""The PCRE fragments the gateway builds from policy text (checked with Python's re, a PCRE subset here)."""

from __future__ import annotations

import re

import pytest

from airgapctl.errors import BadInputError
from airgapctl.gateway.patterns import literal_pattern, media_type_pattern, route_pattern, subject_pattern


@pytest.mark.parametrize("text", ["CN=alice,OU=ops,O=Example", 'a"b$c\\d;{e}', "CN=Zoë,O=Ex\\2C ample", ""])
def test_literal_pattern_matches_exactly_its_text_and_keeps_no_syntax(text):
    pattern = literal_pattern(text)
    assert re.fullmatch(pattern.encode(), text.encode("utf-8"))
    assert re.fullmatch(r"(?:[A-Za-z0-9]|\\x[0-9a-f]{2})*", pattern)


def test_subject_pattern_is_case_sensitive_and_needs_a_verified_certificate():
    pattern = re.compile(subject_pattern("CN=alice,OU=ops,O=Example"))
    assert pattern.fullmatch("SUCCESS|CN=alice,OU=ops,O=Example")
    assert not pattern.fullmatch("SUCCESS|CN=Alice,OU=ops,O=Example")
    assert not pattern.fullmatch("FAILED:self signed certificate|CN=alice,OU=ops,O=Example")
    assert not pattern.fullmatch("SUCCESS|CN=alice,OU=ops,O=Example,O=More")


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        (" application/json ;x=1", True),
        ("application/jsonx", False),
        ("application/problem+json", False),
        ("text/plain", False),
        ("", False),
        ("image/png", True),
        ("image/", False),
    ],
)
def test_media_type_pattern(content_type, accepted):
    pattern = re.compile("^" + media_type_pattern(["application/json", "image/*"]), re.IGNORECASE)
    assert bool(pattern.match(content_type)) is accepted


def test_any_media_type_and_no_media_type():
    assert re.match("^" + media_type_pattern(["*/*"]), "text/x-anything; a=b")
    assert media_type_pattern([]) is None


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("^/api/pets/(?P<p1>[0-9]+)$", "^/api/pets/(?:[0-9]+)$"),
        ("^/a/(?<x>[^/]+)/(?'y'b)\\z", "^/a/(?:[^/]+)/(?:b)\\z"),
        ("^/a/[(?P<x>]+$", "^/a/[(?P<x>]+$"),  # inside a class: literal text
        ("^/a/[]a(?P<]/(?P<n>x)$", "^/a/[]a(?P<]/(?:x)$"),
        ("^/a/\\(?P<x>\\)$", "^/a/\\(?P<x>\\)$"),  # escaped parenthesis: literal text
        ("^/a(?=b)(?<=a)(?<!c)$", "^/a(?=b)(?<=a)(?<!c)$"),  # lookarounds are not named groups
    ],
)
def test_route_pattern_drops_only_real_named_groups(regex, expected):
    assert route_pattern(regex, "op") == expected


@pytest.mark.parametrize(
    ("regex", "problem"),
    [
        ("/api/pets$", "not anchored"),
        ("^/api/pets", "not anchored"),
        ("^/api/pets\\$", "not anchored"),
        ("^/(?P<a>x)/(?P=a)$", "refers to a named group"),
        ("^/(x)/\\1$", "back-reference"),
        ("^/(?P<1a>x)$", "malformed named group"),
    ],
)
def test_route_pattern_refuses_what_it_cannot_keep(regex, problem):
    with pytest.raises(BadInputError, match=problem):
        route_pattern(regex, "op")
