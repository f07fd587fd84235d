"""What must hold for one case of the bypass suite, wherever the gateway runs.

The pytest suite (tests/integration/test_gateway_bypass.py) checks a gateway rendered on this
machine; bypass_run.py checks the one the gateway_proxy role provisioned, inside its Molecule
instance. Plain asserts, so both report the same failure.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from airgapctl.contracts.access_log import VIOLATIONS
from airgapctl.gateway.request_rules import OVERRIDE_HEADERS
from airgapctl.specs.routing import Decision
from tests.integration.gateway.bypass import RawCase, RawReply
from tests.integration.gateway.contracts import assert_valid_log_line
from tests.integration.gateway.upstream import Received


def upstream_target(policy: dict[str, Any], operation_id: str, case: RawCase) -> tuple[str, str]:
    """Where the upstream must see a served request: its URL's path plus the raw path after base_path."""
    operation = next(op for op in policy["operations"] if op["id"] == operation_id)
    api = next(api for api in policy["apis"] if api["name"] == operation["api"])
    _, path, query = case.split_target
    prefix = urllib.parse.urlsplit(api["upstream"]["url"]).path.rstrip("/")
    return prefix + path[len(api["base_path"]) :], query


def check_case(
    case: RawCase,
    expected: Decision,
    reply: RawReply,
    line: dict[str, Any],
    reached: list[Received],
    policy: dict[str, Any],
) -> None:
    """The gateway decided as the reference did, and the upstream saw exactly what was allowed."""
    request_id = reply.headers["x-request-id"]
    assert_valid_log_line(line)
    # Every answer, refusal or upstream's, keeps browsers on HTTPS and is never sniffed or framed.
    assert reply.headers["strict-transport-security"] == "max-age=31536000"
    assert (reply.headers["x-content-type-options"], reply.headers["x-frame-options"]) == ("nosniff", "DENY")
    assert reply.headers["referrer-policy"] == "no-referrer"

    if not expected.allowed:
        assert (reply.status, line["decision"], line["reason"]) == (expected.status, "deny", expected.reason)
        assert reply.headers["content-type"] == "application/json"
        if expected.reason in VIOLATIONS:
            # The spec checks also name the failing place and keyword, never the value.
            answer = json.loads(reply.body)
            assert (answer["status"], answer["error"], answer["request_id"]) == (400, expected.reason, request_id)
            assert (answer["pointer"], answer["keyword"]) == (line["violation_pointer"], line["violation_keyword"])
            assert line["violation"] == expected.reason
        elif case.method != "HEAD":
            assert reply.body.decode() == f'{{"status":{expected.status},"error":"{expected.reason}",' \
                                          f'"request_id":"{request_id}"}}\n'  # fmt: skip
        assert reached == [], "a refused request reached the upstream"
        return

    assert (reply.status, line["decision"], line["reason"]) == (200, "allow", expected.reason)
    assert line["operation"] == expected.operation
    assert len(reached) == 1, "a served request must reach the upstream exactly once"
    (received,) = reached
    assert (received.method, (received.path, received.query)) == (
        case.method, upstream_target(policy, expected.operation, case))  # fmt: skip
    names = [name for name, _ in received.lines]
    assert not set(names) & {*OVERRIDE_HEADERS, *(h.replace("-", "_") for h in OVERRIDE_HEADERS)}
    checked_type = case.request().content_type
    assert [value for name, value in received.lines if name == "content-type"] == (
        [checked_type] if checked_type else []
    )
