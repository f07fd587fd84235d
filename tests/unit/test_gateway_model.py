"""The one derivation from policy to template data: plain, deterministic, and faithful to the policy."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from airgapctl.errors import BadInputError
from airgapctl.gateway.model import INTERNAL_PREFIX, build_gateway_model, lifecycle_state
from airgapctl.gateway.upstreams import upstream_entry
from tests.integration.gateway import policy_builder as pb
from tests.integration.gateway.contracts import assert_valid_policy

NOW = date(2026, 6, 1)


def small_policy(**changes):
    pet = {"petId": pb.INT_PARAM}
    operations = [
        pb.operation("pets", "/api", "list", "GET", "/pets", ["reader"]),
        pb.operation("pets", "/api", "create", "POST", "/pets", ["writer"], body=pb.json_body(100)),
        pb.operation("pets", "/api", "mine", "GET", "/pets/mine", ["reader"], rate_limit=pb.rate(2, 1)),
        pb.operation("pets", "/api", "get", "GET", "/pets/{petId}", ["reader", "writer"], params=pet),
        pb.operation("pets", "/api", "put", "PUT", "/pets/{petId}", ["writer"], params=pet, body=pb.json_body(100)),
        pb.operation("pets", "/api", "zero", "PATCH", "/pets/{petId}", ["writer"], params=pet, body=pb.json_body(0)),
        pb.operation("stock", "", "items", "GET", "/items", ["auditor"], rate_limit=pb.rate(2, 1)),
    ]
    document = pb.policy(
        apis=[
            pb.api("pets", "/api", "http://10.0.0.5:8080/v1/", credential="pets-token"),
            pb.api("stock", "", "https://stock.internal"),
        ],
        operations=operations,
        roles=[pb.role("reader", pb.rate(5)), pb.role("writer", pb.rate(5)), pb.role("auditor")],
        clients=[
            pb.client("alice", "CN=alice,O=Example", ["reader", "writer"], rate_limit=pb.rate(10, 20)),
            pb.client("bob", "CN=bob,O=Example", ["reader"]),
            pb.client("carol", "CN=carol,O=Example", ["auditor"]),
        ],
    )
    document.update(changes)
    assert_valid_policy(document)
    return document


def by_id(model, op_id):
    return next(op for op in model["operations"] if op["id"] == op_id)


@pytest.mark.parametrize(
    ("deprecated", "action", "sunset", "state"),
    [
        (False, "deny", None, "ok"),
        (True, "allow", None, "ok"),
        (True, "warn", "2020-01-01", "deprecated"),
        (True, "deny", None, "sunset"),
        (True, "deny", "2026-05-31", "sunset"),
        (True, "deny", "2026-06-01", "sunset"),  # not after now: gone
        (True, "deny", "2026-06-02", "deprecated"),
    ],
)
def test_lifecycle_state(deprecated, action, sunset, state):
    op = {"deprecated": deprecated, "deprecation_action": action, "sunset": sunset}
    assert lifecycle_state(op, NOW) == state


def test_model_is_plain_json_and_deterministic():
    policy = small_policy()
    model = build_gateway_model(policy, NOW)
    assert json.loads(json.dumps(model)) == model
    assert build_gateway_model(policy, NOW) == model


def test_routes_are_per_method_in_policy_order_with_named_groups_removed():
    policy = small_policy()
    model = build_gateway_model(policy, NOW)
    routes = {route["method"]: route for route in model["routes"]}
    assert list(routes) == ["GET", "POST", "PUT", "PATCH"]
    get_ids = [model["operations"][entry["index"] - 1]["id"] for entry in routes["GET"]["entries"]]
    assert get_ids == [op["id"] for op in policy["operations"] if op["method"] == "GET"]
    assert get_ids.index("pets.mine") < get_ids.index("pets.get")  # literal /pets/mine before /pets/{petId}
    assert routes["GET"]["var"] == "gw_route_get"
    assert all("(?P<" not in entry["pattern"] for route in model["routes"] for entry in route["entries"])


def test_role_grants_pair_role_sets_with_operation_role_groups_that_share_a_role():
    model = build_gateway_model(small_policy(), NOW)
    clients = {c["name"]: c for c in model["clients"]}
    assert clients["alice"]["roles"] == "reader,writer"

    def allowed(client, op_id):
        return f"{clients[client]['roleset']}|{by_id(model, op_id)['role_group']}" in model["role_grants"]

    assert allowed("alice", "pets.create") and allowed("alice", "pets.get")
    assert allowed("bob", "pets.get") and not allowed("bob", "pets.create")
    assert allowed("carol", "stock.items") and not allowed("carol", "pets.list")


def test_body_classes_group_operations_with_the_same_api_and_body_rules():
    model = build_gateway_model(small_policy(), NOW)
    classes = {c["index"]: c for c in model["body_classes"]}
    create, put = by_id(model, "pets.create"), by_id(model, "pets.put")
    assert create["body_class"] == put["body_class"]
    assert classes[create["body_class"]]["max_bytes"] == 100
    assert re.match(classes[create["body_class"]]["media_type_pattern"], f"{create['body_class']}|1|application/json")
    no_body = classes[by_id(model, "pets.list")["body_class"]]
    assert (no_body["body_allowed"], no_body["max_bytes"], no_body["media_type_pattern"]) == (False, 1, None)
    # max_bytes 0 would be "unlimited" in NGINX: such an operation takes no body.
    assert by_id(model, "pets.zero")["body_class"] == by_id(model, "pets.list")["body_class"]
    assert by_id(model, "stock.items")["body_class"] != by_id(model, "pets.list")["body_class"]


def test_rate_zones_one_per_kind_rate_and_burst():
    model = build_gateway_model(small_policy(), NOW)
    zones = {zone["zone"]: zone for zone in model["rate_zones"]}
    assert list(zones) == ["gw_rl_client_10r_20b", "gw_rl_role_5r_0b", "gw_rl_op_2r_1b"]
    assert zones["gw_rl_client_10r_20b"]["members"] == ["alice"]
    # alice holds two roles with the same limit: one counter, not two.
    assert zones["gw_rl_role_5r_0b"]["members"] == ["alice", "bob"]
    op_ids = {model["operations"][index - 1]["id"] for index in zones["gw_rl_op_2r_1b"]["members"]}
    assert op_ids == {"pets.mine", "stock.items"}
    assert all(zone["size"] == "1m" and zone["key"].startswith("gw_rlk_") for zone in zones.values())


def test_next_sunset_and_hash_size():
    policy = small_policy()
    policy["operations"][0].update(deprecated=True, deprecation_action="deny", sunset="2027-01-01")
    model = build_gateway_model(policy, NOW)
    assert model["next_sunset"] == "2027-01-01"
    assert build_gateway_model(policy, date(2027, 1, 1))["next_sunset"] is None
    assert model["hash_max_size"] == 1024
    assert build_gateway_model(pb.large_policy(2000), NOW)["hash_max_size"] == 4096


def test_upstreams_map_the_raw_path_after_the_base_path():
    model = build_gateway_model(small_policy(), NOW)
    pets, stock = model["apis"]
    assert (pets["server"], pets["host_header"], pets["path_prefix"], pets["credential"]) == (
        "10.0.0.5:8080",
        "10.0.0.5:8080",
        "/v1",
        "pets-token",
    )
    assert re.fullmatch(pets["uri_pattern"], "/api/pets/1?a=b").expand(pets["uri_value"].replace("$1", r"\1")) == (
        "/v1/pets/1?a=b"
    )
    assert not re.fullmatch(pets["uri_pattern"], "/apix/pets")
    assert (stock["scheme"], stock["server"], stock["host_header"], stock["tls_name"]) == (
        "https",
        "stock.internal:443",
        "stock.internal",
        "stock.internal",
    )
    assert stock["uri_pattern"] == "^(/.*)$"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:pw@10.0.0.5/", "user information"),
        ("http://10.0.0.5/v1?key=x", "query"),
        ("http://bad_host/", "not a host name"),
        ("http://10.0.0.5/v$1", "characters"),
        ("http://10.0.0.5:99999/", "port"),
    ],
)
def test_upstream_urls_that_could_leak_or_inject_are_refused(url, problem):
    with pytest.raises(BadInputError, match=problem):
        upstream_entry(pb.api("pets", "/api", url))


@pytest.mark.parametrize(("field", "value"), [("credential", "../etc/shadow"), ("ca_file", '/etc/ca.pem";')])
def test_credential_names_and_ca_files_are_plain(field, value):
    with pytest.raises(BadInputError):
        upstream_entry(pb.api("pets", "/api", "https://10.0.0.5", **{field: value}))


def test_ipv6_upstream():
    entry = upstream_entry(pb.api("pets", "/api", "http://[fd00::5]:8080"))
    assert (entry["server"], entry["host_header"]) == ("[fd00::5]:8080", "[fd00::5]:8080")


def test_what_the_schema_cannot_say_is_checked():
    policy = small_policy()
    policy["clients"][1]["subject"] = policy["clients"][0]["subject"]
    with pytest.raises(BadInputError, match=r"clients\[\]\.subject must be unique; repeated: CN=alice,O=Example"):
        build_gateway_model(policy, NOW)

    policy = small_policy()
    policy["operations"][0]["api"] = "nowhere"
    with pytest.raises(BadInputError, match="'nowhere' is not in apis"):
        build_gateway_model(policy, NOW)

    policy = small_policy()
    policy["operations"][0]["gateway_path"] = INTERNAL_PREFIX + "/op/1"
    with pytest.raises(BadInputError, match="internal prefix"):
        build_gateway_model(policy, NOW)
