"""The gateway templates: package data of airgapctl, rendered by `airgapctl gateway render` alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
from jinja2 import nodes

from airgapctl.gateway.render import (
    ANSIBLE_MANAGED,
    CHECK_MODULE_TEMPLATE,
    TEMPLATE_NAMES,
    TEMPLATES_DIR,
    RenderOptions,
    comment,
    render_templates,
    template_environment,
    template_variables,
)
from tests.integration.gateway.scenario import CANARY, CREDENTIAL, scenario_policy

REPO = Path(__file__).parents[2]

HEADER = "{{ ansible_managed | comment }}\n"
JS_HEADER = "{{ ansible_managed | comment('c') }}\n"  # JavaScript's comment mark


@pytest.fixture(scope="module")
def variables():
    return template_variables(scenario_policy(8080, 8081), RenderOptions(now=date(2026, 6, 1)))


def _parse(name: str) -> nodes.Template:
    env = template_environment(TEMPLATES_DIR)
    return env.parse(env.loader.get_source(env, name)[0])


def test_every_template_is_rendered_and_starts_with_the_managed_header():
    on_disk = sorted(str(p.relative_to(TEMPLATES_DIR)) for p in TEMPLATES_DIR.rglob("*.j2"))
    assert sorted([*TEMPLATE_NAMES, CHECK_MODULE_TEMPLATE, "macros/nginx.j2"]) == on_disk
    for name in on_disk:
        header = JS_HEADER if name.endswith(".js.j2") else HEADER
        assert (TEMPLATES_DIR / name).read_text().startswith(header), name


@pytest.mark.parametrize("name", [*TEMPLATE_NAMES, CHECK_MODULE_TEMPLATE, "macros/nginx.j2"])
def test_templates_use_core_jinja_filters_and_tests_plus_comment_only(name):
    ast = _parse(name)
    filters = {node.name for node in ast.find_all(nodes.Filter)}
    tests = {node.name for node in ast.find_all(nodes.Test)}
    assert filters <= set(jinja2.filters.FILTERS) | {"comment"}
    assert tests <= set(jinja2.tests.TESTS)


def test_templates_use_exactly_the_documented_variables(variables):
    used = set()
    for name in (*TEMPLATE_NAMES, CHECK_MODULE_TEMPLATE):
        used |= jinja2.meta.find_undeclared_variables(_parse(name))
    # The check-script template also sees the one module it renders.
    assert used == {*variables, "gateway_proxy_check_module"}
    doc = (REPO / "docs" / "gateway.md").read_text()
    assert all(f"`{name}`" in doc for name in used)


def test_comment_is_ansibles_plain_comment():
    filters = pytest.importorskip("ansible.plugins.filter.core")
    for text in ("Ansible managed", ANSIBLE_MANAGED, "line one\nline two"):
        assert comment(text) == filters.comment(text)


def test_one_renderer_the_package_holds_the_templates_and_links_nowhere():
    """The templates are the package's own files; no role renders a gateway template itself."""
    assert TEMPLATES_DIR == REPO / "airgapctl" / "gateway" / "templates"
    links = [p for p in (REPO / "airgapctl").rglob("*") if p.is_symlink()]
    assert not links, f"links in the package: {links}"
    role_templates = sorted(p.name for p in (REPO / "roles").rglob("*.j2"))
    assert not {Path(name).name for name in TEMPLATE_NAMES} & set(role_templates)
    for tasks in (REPO / "roles").glob("*/tasks/*.yml"):
        text = tasks.read_text()
        for name in (*TEMPLATE_NAMES, CHECK_MODULE_TEMPLATE):
            assert Path(name).name not in text, f"{tasks} names the gateway template {name}"


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
