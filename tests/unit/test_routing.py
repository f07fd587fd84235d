"""The reference decision for a request, from the policy alone, and the self-test's derived cases."""

from __future__ import annotations

import datetime as dt

import pytest

from airgapctl.gateway.selftest_cases import derive_cases, sample_value
from airgapctl.specs.compile import compile_policy
from airgapctl.specs.routing import Request, Router, content_type_allowed
from tests.unit.test_policy_compile import PETS, access_doc


@pytest.fixture
def policy(tmp_path):
    import yaml

    from airgapctl.specs.access import load_access

    path = tmp_path / "access.yml"
    path.write_text(yaml.safe_dump(access_doc(defaults={"deprecated": "deny"})))
    return compile_policy(load_access(path), {"pets": PETS}).policy


@pytest.mark.parametrize(
    ("request_", "status", "reason"),
    [
        (Request("GET", "/pets-api/pets/1", None), 401, "no_client_cert"),
        (Request("GET", "/pets-api/pets/1", "mallory"), 403, "unknown_client"),
        (Request("GET", "/pets-api/pets/1%2F..%2Fx", "alice"), 400, "non_canonical_path"),
        (Request("GET", "/pets-api//pets", "alice"), 400, "non_canonical_path"),
        (Request("GET", "/pets-api/pets/1;a=b", "alice"), 400, "non_canonical_path"),
        (Request("GET", "/pets-api/pets/%41", "alice"), 400, "non_canonical_path"),
        (Request("GET", "/pets-api/pets/%6Dine", "alice"), 400, "non_canonical_path"),
        (Request("GET", "/pets-api/pets/1%zz", "alice"), 400, "non_canonical_path"),
        (Request("GET", "/pets-api/pets/1%20", "alice"), 404, "unknown_path"),
        (Request("GET", "/pets-api/cats", "alice"), 404, "unknown_path"),
        (Request("GET", "/pets-api/pets/abc", "alice"), 404, "unknown_path"),
        (Request("PATCH", "/pets-api/pets/1", "alice"), 405, "method_not_allowed"),
        (Request("POST", "/pets-api/pets", "alice", "application/json", 2), 403, "forbidden_role"),
        (Request("DELETE", "/pets-api/pets/1", "bob"), 410, "sunset"),
        (Request("POST", "/pets-api/pets", "bob", "application/json", 4096), 413, "body_too_large"),
        (Request("GET", "/pets-api/pets", "bob", "application/json", 1), 413, "body_too_large"),
        (Request("POST", "/pets-api/pets", "bob", "text/plain", 2), 415, "unsupported_media_type"),
        (Request("POST", "/pets-api/pets", "bob", "Application/JSON; charset=utf-8", 2), 0, "ok"),
        (Request("GET", "/pets-api/pets/mine", "alice"), 0, "ok"),
    ],
)
def test_reference_decisions(policy, request_, status, reason):
    decision = Router(policy, dt.date(2026, 6, 1)).decide(request_)
    assert (decision.status, decision.reason) == (status, reason)


def test_sunset_in_the_future_is_still_served_as_deprecated(policy):
    decision = Router(policy, dt.date(2025, 1, 1)).decide(Request("DELETE", "/pets-api/pets/1", "bob"))
    assert (decision.status, decision.reason, decision.operation) == (0, "deprecated", "pets.delete_pets_by_petId")


def test_content_type_wildcards():
    assert content_type_allowed("image/png", ["image/*"])
    assert not content_type_allowed("text/plain", ["image/*"])
    assert not content_type_allowed(None, ["*/*"])


def test_derived_cases_cover_every_operation_and_every_negative_class(policy):
    cases, skipped = derive_cases(policy, Router(policy, dt.date(2026, 6, 1)), ["alice", "bob"])
    assert skipped == []
    positives = [c for c in cases if c.name.startswith("positive ")]
    assert len(positives) == len(policy["operations"])
    reasons = {c.expected.reason for c in cases}
    assert {"ok", "forbidden_role", "unknown_path", "method_not_allowed", "no_client_cert", "non_canonical_path",
            "body_too_large", "unsupported_media_type", "sunset"} <= reasons  # fmt: skip


def test_sample_values_satisfy_the_parameter_regex():
    assert sample_value({"regex": "(?:full|thumb)", "schema": {"enum": ["thumb", "full"]}}) == "thumb"
    assert sample_value({"regex": "[0-9]+", "schema": {}}) == "1"
    assert sample_value({"regex": "(?:[A-Z]{3})", "schema": {}}) is None
