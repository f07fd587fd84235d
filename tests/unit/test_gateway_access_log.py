"""The access-log contract (airgapctl/contracts/access_log.py) against its schema, templates and router."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import jinja2
import pytest

from airgapctl.contracts import access_log
from airgapctl.gateway.render import (
    TEMPLATES_DIR,
    RenderOptions,
    render_templates,
    template_environment,
    template_variables,
)
from airgapctl.gateway.selftest import PASSED_THROUGH
from airgapctl.gateway.selftest_cases import derive_cases
from airgapctl.specs import canonical
from airgapctl.specs.routing import Router
from tests.integration.gateway.scenario import scenario_policy

SCHEMA = json.loads((Path(access_log.__file__).parents[1] / "schemas" / "access_log.schema.json").read_text())
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


@pytest.fixture(scope="module")
def policy():
    return scenario_policy(8080, 8081)


@pytest.fixture(scope="module")
def rendered(policy):
    return render_templates(template_variables(policy, RenderOptions(now=date(2026, 6, 1))))


def _schema_type(prop: dict) -> str:
    if "type" in prop:
        return prop["type"]
    values = [prop["const"]] if "const" in prop else prop["enum"]
    (kind,) = {JSON_TYPES[type(value)] for value in values}
    return kind


def test_every_field_is_in_the_schema_with_its_type_and_the_schema_has_no_other():
    properties = SCHEMA["properties"]
    assert list(properties) == [field.name for field in access_log.FIELDS]
    for field in access_log.FIELDS:
        assert _schema_type(properties[field.name]) == field.type, field.name
    assert set(SCHEMA["required"]) == {field.name for field in access_log.FIELDS if field.required}


def test_fixed_values_match_the_schema():
    properties = SCHEMA["properties"]
    assert properties["v"]["const"] == access_log.VERSION
    assert SCHEMA["$id"].endswith(f":{access_log.VERSION}")
    for field in access_log.FIELDS:
        if field.values and field.name != "v":
            assert tuple(properties[field.name]["enum"]) == field.values, field.name
    assert set(access_log.ALLOWED) <= set(access_log.REASONS)
    assert access_log.decision("ok") == "allow"
    assert access_log.decision("bad_request") == "deny"


def _log_format(maps_conf: str) -> str:
    block = re.search(r"^log_format airgap_json escape=json\n(.*?;)\n", maps_conf, re.M | re.S)
    assert block, "no log_format airgap_json in gateway/maps.conf"
    return "".join(re.findall(r"'([^']*)'", block.group(1)))


def test_the_rendered_log_format_writes_exactly_the_contract_fields(rendered, policy):
    text = _log_format(rendered["gateway/maps.conf"])
    # NGINX fills each variable in; a number for the unquoted ones, as escape=json leaves them.
    sample = json.loads(re.sub(r"\$[a-z_0-9]+", "7", text))
    assert list(sample) == [field.name for field in access_log.FIELDS]
    for field in access_log.FIELDS:
        written = JSON_TYPES[type(sample[field.name])]
        assert written == field.type or (field.type, written) == ("number", "integer"), field.name
    assert sample["policy_id"] == policy["policy_id"]
    assert sample["v"] == access_log.VERSION


def test_the_decision_map_allows_exactly_the_allowed_reasons(rendered):
    block = re.search(r"map \$gw_log_reason \$gw_decision \{(.*?)\}", rendered["gateway/maps.conf"], re.S)
    entries = dict(line.split() for line in block.group(1).strip().rstrip(";").split(";\n"))
    assert {key.strip(): value for key, value in entries.items()} == {
        "default": "deny",
        **{reason: "allow" for reason in access_log.ALLOWED},
    }


def test_every_reason_the_gateway_sets_is_listed(rendered):
    text = "\n".join(rendered.values())
    set_reasons = set(re.findall(r"set \$gw_reason ([a-z_]+);", text))
    errors = set(re.findall(r'"error":"([a-z_]+)"', text))
    assert set_reasons and set_reasons == errors
    assert set_reasons <= set(access_log.REASONS)


def test_a_template_naming_an_unlisted_reason_fails_to_render(policy):
    env = template_environment(TEMPLATES_DIR)
    template = env.from_string(
        "{% import 'macros/nginx.j2' as nginx with context %}{{ nginx.deny(400, 'not_a_reason') }}"
    )
    variables = template_variables(policy, RenderOptions(now=date(2026, 6, 1)))
    with pytest.raises(jinja2.UndefinedError):
        template.render(variables)
    assert "set $gw_reason ok;" in env.from_string(
        "{% import 'macros/nginx.j2' as nginx with context %}{{ nginx.deny(400, 'ok') }}"
    ).render(variables)


def test_the_reference_router_and_the_self_test_use_listed_reasons(policy):
    router = Router(policy, date(2026, 6, 1))
    cases, _ = derive_cases(policy, router, sorted(c["name"] for c in policy["clients"]))
    reasons = {case.expected.reason for case in cases}
    assert len(reasons) > 5
    assert reasons <= set(access_log.REASONS)
    assert set(PASSED_THROUGH) == set(access_log.ALLOWED)
    assert canonical.REASON == access_log.Reason.NON_CANONICAL_PATH


def test_policy_ids_that_cannot_be_literal_log_text_are_refused():
    assert access_log.nginx_log_format("sha256:" + "0" * 64)[-1] == '"policy_id":"sha256:' + "0" * 64 + '"}'
    for bad in ("a'b", "a$b", 'a"b', "a\\b"):
        with pytest.raises(ValueError, match="cannot be logged"):
            access_log.nginx_log_format(bad)
