"""Policies of every shape render into a configuration ``nginx -t`` accepts.

render_gateway refuses to install what ``nginx -t`` rejects, so a successful render is the test.
The shapes are the edges of the templates: no map entries of a kind, a single operation, thousands.
"""

from __future__ import annotations

import time

import pytest
import yaml

from airgapctl.gateway.render import render_gateway
from airgapctl.gateway.selftest import run_selftest
from airgapctl.specs.compile import compile_files
from airgapctl.specs.routing import Request, Router
from airgapctl.specs.validate import validate_spec
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.client import GatewayClient
from tests.integration.gateway.contracts import assert_valid_policy
from tests.integration.gateway.harness import render_options
from tests.integration.gateway.nginx_process import RunningNginx, free_port
from tests.integration.gateway.scenario import ALICE, NOW, Identities, make_identities
from tests.integration.gateway.upstream import RecordingUpstream

pytestmark = [pytest.mark.integration]

SHAPES = {
    "no body at all": lambda: pb.uniform_policy(5, "GET"),
    "only body-taking operations": lambda: pb.uniform_policy(5, "POST", pb.json_body()),
    "exactly one operation, no body": lambda: pb.uniform_policy(1, "GET"),
    "exactly one operation, with a body": lambda: pb.uniform_policy(1, "PUT", pb.json_body()),
    "3,000 operations": lambda: pb.large_policy(3000),
}


@pytest.fixture(scope="module")
def identities(tmp_path_factory) -> Identities:
    return make_identities(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize("shape", SHAPES)
def test_policy_shape_passes_nginx_t(shape, identities, tmp_path):
    policy = SHAPES[shape]()
    assert_valid_policy(policy)
    started = time.monotonic()
    result = render_gateway(policy, tmp_path / "gw", render_options(tmp_path, identities, free_port()))
    seconds = time.monotonic() - started
    assert (result.nginx_test, result.operations) == ("ok", len(policy["operations"]))
    assert seconds < 20, f"render + nginx -t took {seconds:.1f} s"


def compile_single_api(tmp_path, spec, access):
    (tmp_path / "api.yaml").write_text(yaml.safe_dump(spec))
    (tmp_path / "access.yml").write_text(yaml.safe_dump(access))
    return compile_files(tmp_path / "access.yml", validate_spec)


def test_a_spec_with_a_single_get_compiles_and_renders(identities, tmp_path):
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "ping", "version": "1"},
        "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "pong"}}}}},
    }
    access = {
        "version": 1,
        "site": "one",
        "apis": [{"name": "ping", "spec": "api.yaml", "base_path": "/p", "upstream": {"url": "http://127.0.0.1:9"}}],
        "roles": [{"name": "reader", "allow": [{"method": "GET", "path": "/**"}]}],
        "clients": [{"name": "client0", "subject": "CN=client0,O=Example", "roles": ["reader"]}],
    }
    policy = compile_single_api(tmp_path, spec, access).policy
    result = render_gateway(policy, tmp_path / "gw", render_options(tmp_path, identities, free_port()))
    assert (result.nginx_test, result.operations, result.body_classes) == ("ok", 1, 1)


def test_a_path_declared_non_canonical_is_a_warning_and_the_selftest_agrees(identities, tmp_path):
    ok = {"responses": {"200": {"description": "ok"}}}
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "files", "version": "1"},
        "paths": {"/files/<upload_url>": {"get": {"operationId": "upload", **ok}}, "/files": {"get": ok}},
    }
    upstream = RecordingUpstream().start()
    access = {
        "version": 1,
        "site": "odd",
        "apis": [{"name": "files", "spec": "api.yaml", "base_path": "/f",
                  "upstream": {"url": f"http://127.0.0.1:{upstream.port}"}}],
        "roles": [{"name": "reader", "allow": [{"path": "/**"}]}],
        "clients": [{"name": "alice", "subject": ALICE, "roles": ["reader"]}],
    }  # fmt: skip
    try:
        result = compile_single_api(tmp_path, spec, access)
        assert [w for w in result.warnings if "GET /f/files/<upload_url>: the gateway refuses" in w]
        port = free_port()
        render_gateway(result.policy, tmp_path / "gw", render_options(tmp_path, identities, port))
        nginx = RunningNginx(tmp_path / "gw", port)
        try:
            url = f"https://127.0.0.1:{port}"
            test = run_selftest(result.policy, url, identities.ca.parent, identities.ca, today=NOW)
        finally:
            nginx.stop()
        assert test.mismatches == []
        assert "/files/%3Cupload_url%3E" in [r.path for r in upstream.recorder.snapshot()]
    finally:
        upstream.stop()


def test_route_dispatch_decides_as_the_reference_router_on_route_edges(identities, tmp_path):
    """Partial, optional, case-folded and alternated path segments: NGINX's buckets and first match agree."""
    upstream = RecordingUpstream().start()
    try:
        policy = pb.route_edge_policy(f"http://127.0.0.1:{upstream.port}", ALICE)
        port = free_port()
        render_gateway(policy, tmp_path / "gw", render_options(tmp_path, identities, port))
        nginx = RunningNginx(tmp_path / "gw", port)
        router = Router(policy, NOW)
        client = GatewayClient(port, identities.ca, identities.clients["alice"])
        try:
            for path in sorted(pb.route_probe_paths(policy)):
                for method in ("GET", "POST", "PUT", "DELETE"):
                    expected = router.decide(Request(method, path, "c"))
                    reply = client.request(method, path)
                    assert reply.status == (expected.status or 200), (method, path, expected, reply.body)
                    if expected.allowed:
                        assert reply.json == {"upstream": True, "path": path}, (method, path)
                    elif method != "HEAD":
                        assert reply.json["error"] == expected.reason, (method, path)
        finally:
            nginx.stop()
    finally:
        upstream.stop()


def test_check_says_what_would_change_and_writes_nothing(identities, tmp_path):
    policy = pb.uniform_policy(3, "GET")
    options = render_options(tmp_path, identities, free_port())
    out = tmp_path / "gw"
    render_gateway(policy, out, options)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert render_gateway(policy, out, options, check=True).changed is False
    server = out / "gateway" / "server.conf"
    server.write_text(server.read_text() + "# edited by hand\n")
    checked = render_gateway(policy, out, options, check=True)
    assert checked.changed is True and checked.nginx_test == "skipped (check)"
    assert f"--- {out}/gateway/server.conf" in checked.diff and "-# edited by hand" in checked.diff
    assert not (tmp_path / "gw.prev").exists()
    assert server.read_text().endswith("# edited by hand\n")  # nothing was written
    assert {p for p in out.rglob("*") if p.is_file()} == set(before)
