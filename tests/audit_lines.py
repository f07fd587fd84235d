"""Gateway access-log lines for audit tests, written field by field from the access-log contract
against the audit fixture policy (tests/fixtures/audit/policy.json)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from airgapctl.contracts import access_log
from airgapctl.contracts.access_log import Reason

POLICY_FILE = Path(__file__).parent / "fixtures" / "audit" / "policy.json"
POLICY = json.loads(POLICY_FILE.read_text())
OPERATIONS = {op["id"]: op for op in POLICY["operations"]}
CLIENTS = {client["name"]: client for client in POLICY["clients"]}


def gateway_line(
    when: dt.datetime,
    client: str,
    operation: str,
    reason: Reason,
    status: int,
    remote_addr: str,
    query: str = "",
    violation: str = "",
    pointer: str = "",
    keyword: str = "",
) -> dict:
    """One line as the gateway writes it: every field of the contract, in its order."""
    op, who = OPERATIONS[operation], CLIENTS[client]
    served = reason in access_log.ALLOWED
    values = {
        "v": access_log.VERSION,
        "time": when.isoformat(),
        "request_id": f"{int(when.timestamp() * 1000):032x}",
        "remote_addr": remote_addr,
        "client": client,
        "subject": who["subject"],
        "roles": ",".join(who["roles"]),
        "method": op["method"],
        "uri": op["gateway_path"].replace("{petId}", "7") + (f"?{query}" if query else ""),
        "operation": operation,
        "decision": access_log.decision(reason),
        "reason": reason.value,
        "status": status,
        "bytes_in": 300,
        "bytes_out": 1200 if served else 150,
        "request_time": 0.02 if served else 0.0,
        "upstream_status": str(status) if served else "",
        "upstream_time": "0.019" if served else "",
        "tls_version": "TLSv1.3",
        "policy_id": POLICY["policy_id"],
        "violation": violation,
        "violation_pointer": pointer if violation else "",
        "violation_keyword": keyword if violation else "",
    }
    return {field.name: values[field.name] for field in access_log.FIELDS}
