"""Every detector against its data-driven cases: tests/fixtures/audit/detectors/<detector>.yml.

Each case describes traffic as a few patterns (who calls what, from when to when, how often); the
patterns are written as gateway log lines (``raw`` gives a line's text as it is), a baseline is
learned from ``train`` and the audit runs on ``audit`` through the real pipeline. ``should_fire``
cases need a finding of the file's detector (with the given subject, severity and words of its
message); ``should_not_fire`` cases must produce none of it. A case may be written as combined
lines of a server that knows no identities (``format: combined``) and audited without a policy
(``policy: none``). A pattern's ``violation``, ``violation_pointer`` and ``violation_keyword`` are
what the gateway's spec check found (nothing when left out).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from airgapctl.gateway.render import RenderOptions, render_templates, template_variables
from airgapctl.schemas import load_schema
from log_analysis.detectors import DETECTORS
from log_analysis.pipeline import AuditOptions, run_audit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
POLICY_FILE = FIXTURES / "policy.json"
POLICY = json.loads(POLICY_FILE.read_text())
OPERATIONS = {op["id"]: op for op in POLICY["operations"]}
ADDRESSES = {"alice": "10.0.0.1", "bob": "10.0.0.2", "carol": "10.0.0.3"}
LOCAL = dt.timezone(dt.timedelta(hours=1))
TRAIN_DAY, AUDIT_DAY = dt.date(2026, 3, 2), dt.date(2026, 3, 5)  # Monday to Wednesday, then a Thursday
OTHER_POLICY = "sha256:" + "0" * 63 + "1"


def _cases() -> list[Any]:
    cases = []
    for path in sorted((FIXTURES / "detectors").glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        for expected in ("should_fire", "should_not_fire"):
            for case in document.get(expected, []):
                cases.append(
                    pytest.param(
                        document["detector"],
                        expected == "should_fire",
                        case,
                        id=f"{document['detector']}:{expected}:{case['name']}",
                    )
                )
    return cases


def _line(pattern: dict[str, Any], when: dt.datetime, index: int, log_format: str = "json") -> str:
    if "raw" in pattern:  # a line as damaged as the case needs
        return pattern["raw"]
    if log_format == "combined":
        return _combined_line(pattern, when, index)
    op = OPERATIONS.get(pattern.get("op", "petstore.getPet"))
    client = pattern.get("client", "alice")
    operation = pattern.get("operation", op["id"])
    path = pattern.get("path", re.sub(r"\{[^}]+\}", "7", op["gateway_path"]))
    if "distinct_paths" in pattern:
        path = f"{path}/{index % pattern['distinct_paths']}"
    reason = pattern.get("reason", "deprecated" if op["deprecated"] and operation == op["id"] else "ok")
    status = pattern.get("status", 201 if op["method"] == "POST" else 200)
    served = reason in ("ok", "deprecated", "upstream_error")
    policy_id = {"other": OTHER_POLICY, "none": ""}.get(pattern.get("policy_id", ""), POLICY["policy_id"])
    record = {
        "v": 1,
        "time": when.isoformat(),
        "request_id": f"{index:032x}",
        "remote_addr": pattern.get("addr", ADDRESSES.get(client, "10.9.9.9")),
        "client": client,
        "subject": pattern.get("subject", f"CN={client},OU=ops,O=Example" if client else ""),
        "roles": "",
        "method": pattern.get("method", op["method"]),
        "uri": path,
        "operation": operation,
        "decision": "allow" if served else "deny",
        "reason": reason,
        "status": status,
        "bytes_in": 300,
        "bytes_out": pattern.get("bytes_out", 1000),
        "request_time": pattern.get("request_time", 0.02),
        "upstream_status": str(status) if served else "",
        "upstream_time": "",
        "tls_version": "TLSv1.3",
        "policy_id": policy_id,
        "violation": pattern.get("violation", ""),
        "violation_pointer": pattern.get("violation_pointer", ""),
        "violation_keyword": pattern.get("violation_keyword", ""),
    }
    return json.dumps(record)


def _combined_line(pattern: dict[str, Any], when: dt.datetime, index: int) -> str:
    """The same request as an NGINX/Apache "combined" line of a server that knows no identities."""
    op = OPERATIONS.get(pattern.get("op", "petstore.getPet"))
    path = pattern.get("path", re.sub(r"\{[^}]+\}", "7", op["gateway_path"]))
    if "distinct_paths" in pattern:
        path = f"{path}/{index % pattern['distinct_paths']}"
    client = pattern.get("client", "alice")
    addr = pattern.get("addr", ADDRESSES.get(client, "10.9.9.9"))
    status = pattern.get("status", 201 if op["method"] == "POST" else 200)
    method = pattern.get("method", op["method"])
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    return f'{addr} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {pattern.get("bytes_out", 1000)} "-" "client/1.0"'


def _expand(
    patterns: list[dict[str, Any]], first_day: dt.date, log_format: str = "json"
) -> list[tuple[dt.datetime, str]]:
    lines = []
    for number, pattern in enumerate(patterns):
        for day in range(pattern.get("days", 1)):
            date = first_day + dt.timedelta(days=day)
            start = dt.datetime.combine(date, dt.time.fromisoformat(pattern["from"]), LOCAL)
            end = dt.datetime.combine(date, dt.time.fromisoformat(pattern["to"]), LOCAL)
            when, index = start, 0
            while when < end:
                lines.append((when, _line(pattern, when, number * 100_000 + index, log_format)))
                when += dt.timedelta(seconds=pattern["every"])
                index += 1
    return sorted(lines, key=lambda item: item[0])


def _write(path: Path, patterns: list[dict[str, Any]], first_day: dt.date, log_format: str = "json") -> Path:
    path.write_text("".join(line + "\n" for _, line in _expand(patterns, first_day, log_format)))
    return path


def _gateway_config(directory: Path, variant: str) -> Path:
    options = (
        RenderOptions(listen="0.0.0.0:443", server_cert="/srv/tls/gw.pem") if variant == "per_host" else RenderOptions()
    )
    rendered = render_templates(template_variables(POLICY, options))
    if variant == "per_host":
        rendered = {name: text.replace("Managed by airgapctl", "Ansible managed") for name, text in rendered.items()}
    if variant == "edited":
        rendered["gateway/server.conf"] = rendered["gateway/server.conf"].replace(
            "ssl_verify_depth 2;", "ssl_verify_depth 9;"
        )
    if variant == "missing_and_extra":
        del rendered["gateway/limits.conf"]
        rendered["gateway/debug.conf"] = "location /debug { return 200; }\n"
    for name, text in rendered.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


@pytest.mark.parametrize(("detector", "fires", "case"), _cases())
def test_detector_case(tmp_path, detector, fires, case):
    log_format = case.get("format", "json")
    train = [_write(tmp_path / "train.log", case["train"], TRAIN_DAY, log_format)] if case.get("train") else []
    audit = _write(tmp_path / "audit.log", case["audit"], AUDIT_DAY, log_format)
    config = _gateway_config(tmp_path / "gateway", case["gateway_config"]) if "gateway_config" in case else None
    state = tmp_path / "state"
    policy = None if case.get("policy") == "none" else POLICY_FILE
    options = AuditOptions(logs=[audit], policy=policy, state_dir=state, train=train, gateway_config=config)
    found = [f for f in run_audit(options).findings if f.detector == detector]
    if not fires:
        assert found == [], [f.message for f in found]
        return
    subject = case.get("subject")
    matching = [f for f in found if subject is None or all(f.subject.as_dict().get(k) == v for k, v in subject.items())]
    assert matching, f"no {detector} finding for {subject}: {[f.message for f in found]}"
    if "severity" in case:
        assert matching[0].severity.label == case["severity"]
    if "message" in case:
        assert case["message"] in matching[0].message


def test_every_detector_has_cases_both_ways():
    covered: dict[str, set[bool]] = {}
    for param in _cases():
        detector, fires, _ = param.values
        covered.setdefault(detector, set()).add(fires)
    assert {name: {True, False} for name in DETECTORS} == covered


def test_the_report_schema_names_every_detector():
    """Every run lists every detector: a report naming one the schema does not know is invalid (and the
    fleet audit sets it aside)."""
    schema = load_schema("report")
    assert set(schema["$defs"]["detector"]["enum"]) == set(DETECTORS)
