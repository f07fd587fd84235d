"""The gateway test scenario: one policy exercising every check, its identities and its files."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airgapctl.gateway.credentials import include_file_name, include_text
from tests.integration.gateway import pki
from tests.integration.gateway import policy_builder as pb

NOW = datetime.date(2026, 6, 1)
CANARY = "canary-7f3a9c1e-never-in-config-or-logs"
CREDENTIAL = "petstore-token"
# The operationId with characters NGINX treats as syntax: it must reach the log unchanged.
ODD_OPERATION_ID = 'odd$id"x\\y'

# Subjects as NGINX's $ssl_client_s_dn shows them (RFC 2253).
ALICE = "CN=alice,OU=ops,O=Example"  # reader + writer
BOB = "CN=bob,OU=ops,O=Example"  # reader
CAROL = "CN=carol,OU=ops,O=Example"  # throttled role (1 r/s)
DAVE = "CN=dave,OU=ops,O=Example"  # reader, client limit 1 r/s
MALLORY = "CN=mallory,OU=ops,O=Example"  # verified by the CA, not in the policy
ALICE_UPPER = "CN=Alice,OU=ops,O=Example"  # verified; differs from alice only in case


@dataclass
class Identities:
    authority: pki.Authority
    ca: Path
    server: pki.Issued
    clients: dict[str, pki.Issued]  # alice, bob, carol, dave, mallory, alice_upper, eve (another CA)


def make_identities(directory: Path) -> Identities:
    ca = pki.authority(directory, "gateway-test-ca")
    other_ca = pki.authority(directory, "other-ca")
    clients = {
        name: pki.issue(ca, directory, name, subject)
        for name, subject in [
            ("alice", ALICE),
            ("bob", BOB),
            ("carol", CAROL),
            ("dave", DAVE),
            ("mallory", MALLORY),
            ("alice_upper", ALICE_UPPER),
        ]
    }
    # Same subject as alice, signed by a CA the gateway does not trust.
    clients["eve"] = pki.issue(other_ca, directory, "eve", ALICE)
    server = pki.issue(ca, directory, "server", "CN=127.0.0.1,O=Example", server_ip="127.0.0.1")
    return Identities(ca, ca.cert_path, server, clients)


def write_credential(directory: Path) -> Path:
    """What the secrets role writes: the include file that sets the upstream Authorization header."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / include_file_name(CREDENTIAL)
    path.write_text(include_text(CREDENTIAL, "Authorization", f"Bearer {CANARY}"))
    return path


# A JSON body the gateway checks (enforce mode): the spec's request checks in the bypass suite.
ORDER = {
    "type": "object",
    "required": ["item", "quantity"],
    "additionalProperties": False,
    "properties": {
        "item": {"type": "string", "pattern": "^[a-z-]+$"},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
        "note": {"type": "string", "nullable": True},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
}
VALID_ORDER = b'{"item":"kibble","quantity":2}'


def _petstore_operations() -> list[dict[str, Any]]:
    def op(op_id: str, method: str, template: str, roles: list[str], **kw: Any) -> dict[str, Any]:
        return pb.operation("petstore", "/api", op_id, method, template, roles, **kw)

    pet = {"petId": pb.INT_PARAM}
    return [
        op("listPets", "GET", "/pets", ["reader"]),
        op("createPet", "POST", "/pets", ["writer"], body=pb.json_body(1024)),
        op("getMine", "GET", "/pets/mine", ["reader"]),
        op("getPet", "GET", "/pets/{petId}", ["reader"], params=pet),
        op("deletePet", "DELETE", "/pets/{petId}", ["writer"], params=pet),
        op("putPhoto", "PUT", "/pets/{petId}/photo", ["writer"], params=pet, body=pb.json_body(2048, ["image/*"])),
        op("postNote", "POST", "/notes", ["reader"], body=pb.json_body(512, ["application/*"])),
        op("submitOrder", "POST", "/orders", ["writer"], body=pb.json_body(1024, schema=ORDER, required=True)),
        op("legacyAllow", "GET", "/legacy/allow", ["reader"], deprecated=True, action="allow"),
        op("legacyWarn", "GET", "/legacy/warn", ["reader"], deprecated=True, action="warn"),
        op("sunsetPast", "GET", "/legacy/past", ["reader"], deprecated=True, action="deny", sunset="2020-01-01"),
        op("sunsetToday", "GET", "/legacy/today", ["reader"], deprecated=True, action="deny", sunset=NOW.isoformat()),
        op("sunsetFuture", "GET", "/legacy/future", ["reader"], deprecated=True, action="deny", sunset="2999-12-31"),
        op("sunsetNone", "GET", "/legacy/none", ["reader"], deprecated=True, action="deny"),
        op("limited", "GET", "/limited", ["reader"], rate_limit=pb.rate(1)),
        op("throttled", "GET", "/throttled", ["reader", "throttled"]),
        op(ODD_OPERATION_ID, "GET", "/odd", ["reader"]),
    ]


def scenario_policy(upstream_port: int, dead_port: int) -> dict[str, Any]:
    upstream = f"http://127.0.0.1:{upstream_port}"
    operations = [
        *_petstore_operations(),
        pb.operation("inventory", "", "listItems", "GET", "/inv/items", ["reader"]),
        pb.operation("broken", "/broken", "getThing", "GET", "/thing", ["reader"]),
    ]
    return pb.policy(
        apis=[
            pb.api("petstore", "/api", f"{upstream}/v1/", credential=CREDENTIAL),
            pb.api("inventory", "", f"{upstream}/inventory"),
            pb.api("broken", "/broken", f"http://127.0.0.1:{dead_port}"),
        ],
        operations=operations,
        roles=[pb.role("reader"), pb.role("writer"), pb.role("throttled", pb.rate(1))],
        clients=[
            pb.client("alice", ALICE, ["reader", "writer"]),
            pb.client("bob", BOB, ["reader"]),
            pb.client("carol", CAROL, ["throttled"]),
            pb.client("dave", DAVE, ["reader"], rate_limit=pb.rate(1)),
        ],
    )
