"""From OpenAPI files to an enforcing gateway: compile, render, run NGINX, self-test, watch the upstream.

A multi-file OpenAPI 3.0 spec, a 3.1 spec and a Swagger 2.0 spec are compiled with an
access policy; the rendered NGINX runs on loopback. Every positive request the self-test
derives must reach the recording upstream and every negative one must not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from airgapctl.gateway.render import render_gateway
from airgapctl.gateway.selftest import run_selftest
from airgapctl.gateway.selftest_cases import derive_cases
from airgapctl.specs.compile import compile_files, write_policy
from airgapctl.specs.routing import Router
from airgapctl.specs.validate import validate_spec
from tests.integration.gateway.harness import render_options
from tests.integration.gateway.nginx_process import RunningNginx, free_port
from tests.integration.gateway.scenario import ALICE, BOB, NOW, make_identities
from tests.integration.gateway.upstream import RecordingUpstream

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "specs"


def access_document(upstream_port: int, reader_writes: bool = False) -> dict:
    upstream = f"http://127.0.0.1:{upstream_port}"
    reader = [{"method": "GET", "path": "/**"}] + ([{"path": "/**"}] if reader_writes else [])
    return {
        "version": 1,
        "site": "e2e",
        "defaults": {"max_body_bytes": 4096, "deprecated": "warn"},
        "apis": [
            {"name": "pets", "spec": str(FIXTURES / "petstore30/openapi.yaml"), "base_path": "/pets",
             "upstream": {"url": f"{upstream}/v1"}},
            {"name": "inventory", "spec": str(FIXTURES / "inventory31.yaml"), "base_path": "/inventory",
             "upstream": {"url": upstream}},
            {"name": "legacy", "spec": str(FIXTURES / "swagger20.yaml"), "base_path": "/legacy",
             "upstream": {"url": f"{upstream}/api"}},
        ],
        "roles": [{"name": "reader", "allow": reader}, {"name": "admin", "allow": [{"path": "/**"}]}],
        "clients": [
            {"name": "alice", "subject": ALICE, "roles": ["reader"]},
            {"name": "bob", "subject": BOB, "roles": ["admin"]},
        ],
    }  # fmt: skip


def compile_to(tmp, access: dict, name: str) -> dict:
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(access))
    result = compile_files(path, validate_spec)
    write_policy(result.policy, tmp / f"{name}.json")
    return result.policy


def selftest_args(tmp, identities, port: int) -> list[str]:
    return ["gateway", "selftest", "--policy", str(tmp / "access.json"), "--url", f"https://127.0.0.1:{port}",
            "--certs", str(tmp / "pki"), "--ca", str(identities.ca), "--now", NOW.isoformat()]  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "pki").mkdir()
    identities = make_identities(tmp / "pki")
    upstream = RecordingUpstream().start()
    policy = compile_to(tmp, access_document(upstream.port), "access")
    port = free_port()
    render_gateway(policy, tmp / "gateway", render_options(tmp, identities, port))
    nginx = RunningNginx(tmp / "gateway", port)
    try:
        yield tmp, identities, upstream, policy, port
    finally:
        nginx.stop()
        upstream.stop()


def test_three_spec_versions_compile_into_one_policy(stack):
    _, _, _, policy, _ = stack
    versions = sorted(api["spec"]["openapi_version"] for api in policy["apis"])
    assert [v[:3] for v in versions] == ["2.0", "3.0", "3.1"]
    assert len(policy["operations"]) >= 12


def test_selftest_finds_no_mismatch_and_only_positives_reach_upstream(stack):
    tmp, identities, upstream, policy, port = stack
    before = len(upstream.recorder.snapshot())
    result = run_selftest(policy, f"https://127.0.0.1:{port}", tmp / "pki", identities.ca, today=NOW)
    assert result.mismatches == []
    cases, _ = derive_cases(policy, Router(policy, NOW), ["alice", "bob"])
    positives = [c for c in cases if c.expected.allowed]
    assert result.requests == len(cases) > 3 * len(policy["operations"])
    reached = upstream.recorder.snapshot()[before:]
    assert len(reached) == len(positives), "a denied request reached the upstream, or an allowed one did not"
    reasons = {c.expected.reason for c in cases}
    assert {"ok", "unknown_path", "method_not_allowed", "forbidden_role", "no_client_cert", "non_canonical_path",
            "body_too_large", "unsupported_media_type"} <= reasons  # fmt: skip


def test_upstream_receives_the_path_under_its_own_prefix(stack):
    tmp, identities, upstream, policy, port = stack
    op = next(o for o in policy["operations"] if o["api"] == "legacy" and not o["path_params"] and o["method"] == "GET")
    before = len(upstream.recorder.snapshot())
    run_selftest({**policy, "operations": [op]}, f"https://127.0.0.1:{port}", tmp / "pki", identities.ca, today=NOW)
    paths = [r.path for r in upstream.recorder.snapshot()[before:]]
    assert "/api" + op["path_template"] in paths


def test_selftest_catches_a_gateway_that_enforces_something_else(stack, cli):
    """A configuration rendered from a looser policy is what a broken or tampered render looks like."""
    tmp, identities, upstream, _, _ = stack
    loose = compile_to(tmp, access_document(upstream.port, reader_writes=True), "loose")
    port = free_port()
    render_gateway(loose, tmp / "broken", render_options(tmp, identities, port))
    nginx = RunningNginx(tmp / "broken", port)
    try:
        result = cli(*selftest_args(tmp, identities, port), "--json")
    finally:
        nginx.stop()
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    mismatches = document["data"]["mismatches"]
    assert mismatches and all(m["expected"].startswith("403 forbidden_role") for m in mismatches)
    assert "did not get what the policy says" in result.stderr


def test_selftest_command_passes_on_the_faithful_gateway(stack, cli):
    tmp, identities, _, _, port = stack
    result = cli(*selftest_args(tmp, identities, port))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert ", 0 mismatches, policy sha256:" in result.stdout
