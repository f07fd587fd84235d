"""The gateway templates are shared with the gateway_proxy role: Ansible must render the same bytes."""

from __future__ import annotations

from datetime import date

import jinja2
import jinja2.meta
import pytest
from jinja2 import nodes

from airgapctl.gateway.render import (
    ANSIBLE_MANAGED,
    TEMPLATE_NAMES,
    TEMPLATES_DIR,
    RenderOptions,
    comment,
    render_templates,
    template_environment,
    template_variables,
)
from tests.integration.gateway.scenario import CANARY, CREDENTIAL, scenario_policy

HEADER = "{{ ansible_managed | comment }}\n"


@pytest.fixture(scope="module")
def variables():
    return template_variables(scenario_policy(8080, 8081), RenderOptions(now=date(2026, 6, 1)))


def _parse(name: str) -> nodes.Template:
    env = template_environment(TEMPLATES_DIR)
    return env.parse(env.loader.get_source(env, name)[0])


def test_every_template_is_rendered_and_starts_with_the_managed_header():
    on_disk = sorted(str(p.relative_to(TEMPLATES_DIR)) for p in TEMPLATES_DIR.rglob("*.j2"))
    assert sorted([*TEMPLATE_NAMES, "macros/nginx.j2"]) == on_disk
    for name in on_disk:
        assert (TEMPLATES_DIR / name).read_text().startswith(HEADER), name


@pytest.mark.parametrize("name", [*TEMPLATE_NAMES, "macros/nginx.j2"])
def test_templates_use_core_jinja_filters_and_tests_plus_comment_only(name):
    ast = _parse(name)
    filters = {node.name for node in ast.find_all(nodes.Filter)}
    tests = {node.name for node in ast.find_all(nodes.Test)}
    assert filters <= set(jinja2.filters.FILTERS) | {"comment"}
    assert tests <= set(jinja2.tests.TESTS)


def test_templates_use_exactly_the_documented_variables(variables):
    used = set()
    for name in TEMPLATE_NAMES:
        used |= jinja2.meta.find_undeclared_variables(_parse(name))
    assert used == set(variables)
    readme = (TEMPLATES_DIR.resolve().parent / "README.md").read_text()  # the role's README
    assert all(f"`{name}`" in readme for name in variables)


def test_comment_is_ansibles_plain_comment():
    filters = pytest.importorskip("ansible.plugins.filter.core")
    for text in ("Ansible managed", ANSIBLE_MANAGED, "line one\nline two"):
        assert comment(text) == filters.comment(text)


def test_ansible_renders_the_same_bytes(variables):
    """What the role's template tasks will do (ansible-core's template action, in miniature)."""
    template = pytest.importorskip("ansible.template")
    dataloader = pytest.importorskip("ansible.parsing.dataloader")
    ours = render_templates(variables)
    templar = template.Templar(loader=dataloader.DataLoader(), variables={})
    templar = templar.copy_with_new_env(searchpath=[str(TEMPLATES_DIR)], available_variables=variables)
    overrides = {"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"}
    for name in TEMPLATE_NAMES:
        source = template.trust_as_template((TEMPLATES_DIR / name).read_text())
        theirs = templar.template(source, escape_backslashes=False, overrides=overrides)
        assert theirs == ours[name.removesuffix(".j2")], name


def test_rendered_config_includes_the_credential_file_but_holds_no_secret(variables):
    rendered = render_templates(variables)
    server = rendered["gateway/server.conf"]
    assert f"include /etc/airgap/credentials/{CREDENTIAL}.conf;" in server
    assert server.count(f"{CREDENTIAL}.conf;") == len(
        [c for c in variables["gateway_proxy_model"]["body_classes"] if c["api"] == "petstore"]
    )
    for text in rendered.values():
        directives = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        assert CANARY not in text
        assert not [line for line in directives if "Authorization" in line]


def test_rendered_config_keeps_the_hard_settings(variables):
    rendered = render_templates(variables)
    server = rendered["gateway/server.conf"]
    for line in ("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_verify_client optional;", "merge_slashes off;"):
        assert line in server
    assert "server_tokens off;" in rendered["nginx.conf"]
    assert "\nuser " not in rendered["nginx.conf"]
    assert "log_format airgap_json escape=json" in rendered["gateway/maps.conf"]
