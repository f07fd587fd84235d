"""access.yml's sync section compiled into policy.json: normalised, and every refusal one line."""

from __future__ import annotations

import copy

import pytest
import yaml

from airgapctl.errors import BadInputError
from airgapctl.schemas import validator
from airgapctl.specs.access import load_access
from airgapctl.specs.compile import compile_policy
from airgapctl.specs.conflicts import PolicyConflictError
from airgapctl.specs.model import LoadedSpec
from tests.unit.test_policy_compile import PETS, access_doc, op

PIN = "sha256:" + "AB" * 32
REGULATOR = LoadedSpec(
    "/site/specs/regulator.yaml",
    "b" * 64,
    ("/site/specs/regulator.yaml",),
    "3.0.3",
    "Regulator",
    (
        op("POST", "/reports", "submitReport", tags=["reports"], content=["application/json"]),
        op("GET", "/reports/{id}/receipt", "getReceipt", params=[("id", {"type": "string"})], tags=["reports"]),
        op("GET", "/reports/latest", "latest", tags=["reports"]),
    ),
)


def sync_doc():
    return {
        "routes": [
            {
                "name": "regulator-report",
                "upstream": {"url": "https://reports.regulator.example:443/api", "ca_file": "/etc/airgap/ca.pem"},
                "spec": "specs/regulator.yaml",
                "allow": [{"operation": "submitReport"}, {"method": "GET", "path": "/reports/*"}],
                "clients": ["alice"],
                "roles": ["admin"],
                "windows": ["nightly", "emergency"],
            },
            {
                "name": "archive",
                "upstream": {"url": "https://archive.example/in", "server_name": "in.archive.example", "pin": PIN},
                "clients": ["alice"],
                "windows": ["nightly"],
            },
        ],
        "windows": [
            {"name": "nightly", "calendar": "Mon..Fri *-*-* 22:30", "timezone": "Europe/Berlin", "duration": "4h"},
            {"name": "emergency", "event": True, "max_duration": "30m"},
        ],
    }


@pytest.fixture
def write_access(tmp_path):
    def write(doc):
        path = tmp_path / "access.yml"
        path.write_text(yaml.safe_dump(doc))
        return load_access(path)

    return write


def compiled(write_access, sync=None, **changes):
    doc = access_doc(**changes) if sync is None else access_doc(sync=sync, **changes)
    return compile_policy(write_access(doc), {"pets": PETS}, {"regulator-report": REGULATOR})


def refused(write_access, change) -> list[str]:
    sync = sync_doc()
    change(sync)
    with pytest.raises(PolicyConflictError) as exc:
        compiled(write_access, sync)
    lines = [problem.line() for problem in exc.value.details]
    assert all("\n" not in line for line in lines)
    return lines


def test_sync_section_is_compiled_sorted_and_normalised(write_access):
    result = compiled(write_access, sync_doc())
    policy = result.policy
    assert not list(validator("policy").iter_errors(policy))
    sync = policy["sync"]
    assert [r["name"] for r in sync["routes"]] == ["archive", "regulator-report"]
    assert sync["windows"] == [
        {"name": "emergency", "kind": "event", "max_duration": 1800},
        {
            "name": "nightly",
            "kind": "calendar",
            "calendar": "Mon..Fri *-*-* 22:30",
            "timezone": "Europe/Berlin",
            "duration": 14400,
        },
    ]
    archive, report = sync["routes"]
    assert archive["upstream"] == {
        "url": "https://archive.example/in", "server_name": "in.archive.example", "ca_file": None, "pin": PIN.lower(),
    }  # fmt: skip
    assert (archive["spec"], archive["operations"], archive["roles"]) == (None, [], [])
    assert report["upstream"]["server_name"] == "reports.regulator.example"  # from the URL
    assert report["spec"] == {
        "file": "/site/specs/regulator.yaml", "sha256": "b" * 64, "openapi_version": "3.0.3", "title": "Regulator",
    }  # fmt: skip
    assert report["operations"] == [
        {"id": "regulator-report.submitReport", "operation_id": "submitReport", "method": "POST",
         "path_template": "/reports", "regex": "^/reports$"},
        {"id": "regulator-report.latest", "operation_id": "latest", "method": "GET",
         "path_template": "/reports/latest", "regex": "^/reports/latest$"},
    ]  # fmt: skip
    # alice by name, bob by the admin role he holds
    assert (report["clients"], report["roles"], report["allowed_clients"]) == (["alice"], ["admin"], ["alice", "bob"])
    assert report["windows"] == ["emergency", "nightly"]
    assert result.warnings == []


def test_a_policy_without_sync_is_unchanged(write_access):
    without = compiled(write_access).policy
    assert "sync" not in without
    # The id of a policy compiled before sync existed, from the same access.yml and spec.
    reference = compile_policy(write_access(access_doc()), {"pets": PETS}).policy
    assert without == reference
    with_sync = compiled(write_access, sync_doc()).policy
    assert {k: v for k, v in with_sync.items() if k not in ("sync", "policy_id")} == {
        k: v for k, v in without.items() if k != "policy_id"
    }
    assert with_sync["policy_id"] != without["policy_id"]


def test_policy_id_without_sync_is_the_one_before_sync_existed(write_access):
    # Pinned: a change to the compiler that touched policies without sync would change it.
    assert compiled(write_access).policy["policy_id"] == PINNED_ID


# Compiled from this access_doc() and PETS by the compiler as it was before sync was added.
PINNED_ID = "sha256:e3c046a900714c9f6b09528398f0eac07fbf15c45ee841c504e55d3632d22372"


def test_unused_window_is_a_warning(write_access):
    sync = sync_doc()
    sync["windows"].append({"name": "spare", "event": True, "max_duration": "1h"})
    assert compiled(write_access, sync).warnings == ["access.yml: sync window spare is used by no route"]


def route(sync, index=0):
    return sync["routes"][index]


def window(sync, name):
    return next(w for w in sync["windows"] if w["name"] == name)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: route(s)["windows"].append("weekly"),
            "access.yml: /sync/routes/0 (sync route regulator-report): /windows/2: names unknown sync window 'weekly'",
        ),
        (
            lambda s: route(s)["clients"].append("carol"),
            "access.yml: /sync/routes/0 (sync route regulator-report): /clients/1: names unknown client 'carol'",
        ),
        (
            lambda s: route(s)["roles"].append("admn"),
            "/roles/1: names unknown role 'admn'; fix: did you mean 'admin'?",
        ),
        (
            lambda s: window(s, "nightly").update(calendar="weeknights 22:30"),
            "access.yml: /sync/windows/0 (window nightly): calendar: calendar 'weeknights 22:30' is not of the form "
            "[DOW ]YYYY-MM-DD HH:MM",
        ),
        (
            lambda s: window(s, "nightly").update(calendar="*-*-* 25:00"),
            "(window nightly): calendar: calendar '*-*-* 25:00': hour '25' is outside 0..23",
        ),
        (
            lambda s: window(s, "nightly").update(timezone="Europe/Berlln"),
            "(window nightly): timezone: time zone 'Europe/Berlln' is not an IANA time zone name",
        ),
        (
            lambda s: window(s, "nightly").update(duration="8d"),
            "(window nightly): duration: duration '8d' is outside 1m..7d",
        ),
        (
            lambda s: window(s, "emergency").update(max_duration="30s"),
            "(window emergency): max_duration: duration '30s' is outside 1m..7d",
        ),
        (
            lambda s: route(s)["upstream"].update(pin=PIN),
            "(sync route regulator-report): /upstream: has both ca_file and pin",
        ),
        (
            lambda s: route(s, 1)["upstream"].pop("pin"),
            "(sync route archive): /upstream: has neither ca_file nor pin",
        ),
        (
            lambda s: route(s)["upstream"].update(url="http://reports.regulator.example/api"),
            "(sync route regulator-report): /upstream/url: sync upstreams must be https",
        ),
        (
            lambda s: route(s)["allow"].append({"operation": "submitReprot"}),
            "/allow/2: operation submitReprot matches no operation of /site/specs/regulator.yaml; "
            "fix: did you mean 'submitReport'?",
        ),
        (
            lambda s: route(s)["allow"].append({"method": "DELETE", "path": "/**"}),
            "/allow/2: DELETE /** matches no operation of",
        ),
        (lambda s: route(s)["allow"].append({"api": "pets", "tag": "pets"}), "/allow/2: api has no meaning here"),
        (lambda s: route(s).pop("allow"), "(sync route regulator-report): has a spec but no allow"),
        (
            lambda s: route(s, 1).update(allow=[{"operation": "x"}]),
            "(sync route archive): /allow: needs a spec to select from",
        ),
        (
            lambda s: route(s).update(clients=[], roles=[]),
            "(sync route regulator-report): no client may use it",
        ),
        (
            lambda s: window(s, "emergency").update(duration="1h"),
            "access.yml: /sync/windows/1 (window emergency): has duration; fix: an event window has event: true",
        ),
        (
            lambda s: window(s, "nightly").pop("timezone"),
            "access.yml: /sync/windows/0 (window nightly): lacks timezone",
        ),
        (lambda s: s["windows"].append(dict(window(s, "nightly"))), "two sync windows share the name 'nightly'"),
        (lambda s: s["routes"].append(copy.deepcopy(route(s, 1))), "two sync routes share the name 'archive'"),
    ],
)
def test_refusals_name_the_place_and_the_problem(write_access, change, expected):
    lines = refused(write_access, change)
    assert len(lines) == 1, lines
    assert expected in lines[0]


def test_calendar_error_says_the_accepted_form(write_access):
    (line,) = refused(write_access, lambda s: window(s, "nightly").update(calendar="daily"))
    assert 'e.g. "Mon..Fri *-*-* 22:30" or "*-*-01 09:00"' in line


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda s: route(s)["upstream"].update(pin="sha256:abc"), "/sync/routes/0/upstream/pin"),
        (lambda s: window(s, "nightly").update(duration="2 hours"), "/sync/windows/0/duration"),
        (lambda s: route(s).update(windows=[]), "/sync/routes/0/windows"),
        (lambda s: route(s).update(name="Bad Name"), "/sync/routes/0/name"),
        (lambda s: window(s, "nightly").update(every="day"), "/sync/windows/0"),
    ],
)
def test_malformed_sync_fields_are_schema_errors_naming_the_field(write_access, change, fragment):
    sync = sync_doc()
    change(sync)
    with pytest.raises(BadInputError) as exc:
        write_access(access_doc(sync=sync))
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_sync_without_routes_or_windows_is_refused_by_the_schema(write_access):
    with pytest.raises(BadInputError, match="/sync"):
        write_access(access_doc(sync={"routes": []}))
