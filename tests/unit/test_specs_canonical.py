"""The canonical-path rule: one definition, rendered into the NGINX map and applied by the router."""

from __future__ import annotations

import re
from datetime import date

import pytest

from airgapctl.gateway.render import RenderOptions, render_templates, template_variables
from airgapctl.specs import canonical
from tests.integration.gateway.scenario import scenario_policy

CANONICAL = [
    "/",
    "/api/pets",
    "/api/pets/1.",
    "/a%20b",
    "/a%3Bb",
    "/caf%C3%A9",
    "/a/b?x=../..;%zz",
    "/a:b@c!$&'()*+,=~",
]
REFUSED = {
    "/api//pets": "empty or dot segment",
    "/api/./pets": "empty or dot segment",
    "/api/pets/..": "empty or dot segment",
    "/api/pets/.?x": "empty or dot segment",
    "/api/%41": "percent-encoded '/', '\\', unreserved or control character",
    "/api/%2f": "percent-encoded '/', '\\', unreserved or control character",
    "/api/%2E%2e": "percent-encoded '/', '\\', unreserved or control character",
    "/api/%5C": "percent-encoded '/', '\\', unreserved or control character",
    "/api/%7e": "percent-encoded '/', '\\', unreserved or control character",
    "/api/%00": "percent-encoded '/', '\\', unreserved or control character",
    "/api/1%": "'%' not followed by two hex digits",
    "/api/1%g0": "'%' not followed by two hex digits",
    "/api/pets;x=1": "';' is not plain path text",
    "/api/pets\\1": "'\\\\' is not plain path text",
    "/api/café": "'é' is not plain path text",
    "*": "does not start with '/'",
}


@pytest.mark.parametrize("target", CANONICAL)
def test_canonical_targets(target):
    assert (canonical.refusal(target), canonical.is_canonical(target)) == (None, True)


@pytest.mark.parametrize(("target", "why"), REFUSED.items())
def test_refused_targets_and_why(target, why):
    assert (canonical.refusal(target), canonical.is_canonical(target)) == (why, False)


def test_every_rule_example_is_refused_by_that_rule():
    for rule in canonical.REFUSALS:
        assert canonical.refusal(rule.example) == rule.why, rule
    assert canonical.refusal(canonical.PLAIN_EXAMPLE) == "';' is not plain path text"
    assert len(set(canonical.examples())) == len(canonical.REFUSALS) + 1


@pytest.mark.parametrize("path", ["/files/<upload_url>", "/café/x y", "/a;b/%41", "/plain/path"])
def test_percent_encoding_is_canonical_and_decodes_back(path):
    encoded = canonical.percent_encode(path)
    assert canonical.is_canonical(encoded)
    assert canonical.decoded(encoded) == path


def test_the_nginx_map_is_rendered_from_the_rule():
    variables = template_variables(scenario_policy(8080, 8081), RenderOptions(now=date(2026, 6, 1)))
    maps = render_templates(variables)["gateway/maps.conf"]
    block = re.search(r"map \$request_uri \$gw_non_canonical \{\n(.*?)\n\}", maps, re.DOTALL).group(1)
    entries = re.findall(r'^    "~(.*)" ([01]);$', block, re.MULTILINE)
    unquoted = [(pattern.replace("\\\\", "\\"), value) for pattern, value in entries]
    assert unquoted == [*((rule.pattern, "1") for rule in canonical.REFUSALS), (canonical.PLAIN, "0")]
    assert block.startswith("    default 1;")
