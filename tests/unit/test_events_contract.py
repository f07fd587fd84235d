"""The event record (airgapctl/contracts/events.py) against its schema, and the settings that place it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from airgapctl.contracts import events as contract
from airgapctl.errors import BadInputError
from airgapctl.events.settings import Settings, collector_address, load_settings

SCHEMA = json.loads((Path(contract.__file__).parents[1] / "schemas" / "event.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def test_every_field_is_in_the_schema_with_its_type_and_the_schema_has_no_other():
    assert list(SCHEMA["properties"]) == list(contract.NAMES)
    assert SCHEMA["required"] == list(contract.NAMES)
    for field in contract.FIELDS:
        assert SCHEMA["properties"][field.name]["type"] == field.type, field.name
    assert SCHEMA["properties"]["v"]["const"] == contract.VERSION


def test_a_new_record_is_a_schema_record_and_its_store_line_is_the_record_as_json():
    record = contract.new_record("bundle.verify", {"name": "site-a", "sequence": 4, "ok": True}, "gw1", 1772438400.5)
    VALIDATOR.validate(record)
    assert contract.problem(record) is None
    assert record["tag"] == "airgap.bundle.verify"
    assert record["time"] == "2026-03-02T08:00:00.500000Z"
    line = contract.store_line(record)
    assert line.endswith("}\n") and line.count("\n") == 1
    assert contract.parse_line(line) == record
    assert list(json.loads(line)) == list(contract.NAMES)


def test_ids_are_unique_and_times_sort_as_text():
    records = [contract.new_record("t.x", {}, "h", when) for when in (1.0, 2.5, 10.0, 100.25)]
    assert len({r["id"] for r in records}) == 4
    assert sorted(r["time"] for r in records) == [r["time"] for r in records]
    assert [contract.parse_time(r["time"]) for r in records] == [1.0, 2.5, 10.0, 100.25]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Bad": 1}, "field name"),
        ({"x": math.inf}, "no JSON form"),
        ({"x": b"bytes"}, "not a JSON value"),
        ({"x": {1: 2}}, "not a string"),
        ({"x": [object()]}, "not a JSON value"),
    ],
)
def test_fields_must_be_json_values(fields, message):
    with pytest.raises(ValueError, match=message):
        contract.new_record("t.x", fields, "h")


@pytest.mark.parametrize("tag", ["", "airgap", "Bundle.verify", "bundle..verify", "bundle verify"])
def test_a_bad_tag_is_refused(tag):
    with pytest.raises(ValueError, match="event tag"):
        contract.full_tag(tag)


def test_a_full_tag_is_kept():
    assert contract.full_tag("airgap.audit.run") == contract.full_tag("audit.run") == "airgap.audit.run"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"v": 2}, "unknown version"),
        ({"id": "x"}, "bad id"),
        ({"time": "2026-03-02T08:00:00+00:00"}, "bad time"),
        ({"tag": "other.thing"}, "bad tag"),
        ({"fields": []}, "fields is not an object"),
    ],
)
def test_a_line_off_the_contract_says_why(change, reason):
    record = {**contract.new_record("t.x", {}, "h"), **change}
    assert reason in contract.problem(record)
    assert not VALIDATOR.is_valid(record)
    with pytest.raises(ValueError, match=reason):
        contract.parse_line(json.dumps(record))


def test_settings_come_from_the_file_then_the_environment(tmp_path):
    config = tmp_path / "events.toml"
    config.write_text('collector = "127.0.0.1:9999"\nspool = "/srv/spool"\nack_timeout = 2\n')
    env = {"AIRGAPCTL_EVENTS_CONFIG": str(config), "AIRGAPCTL_EVENTS_SPOOL": str(tmp_path / "s")}
    settings = load_settings(env)
    assert settings.collector == "127.0.0.1:9999" and settings.address == ("127.0.0.1", 9999)
    assert settings.spool == tmp_path / "s" and settings.ack_timeout == 2.0 and settings.enabled
    assert not load_settings({"AIRGAPCTL_EVENTS": "off"}).enabled
    defaults = load_settings({"AIRGAPCTL_EVENTS_CONFIG": "", "HOME": "/nowhere"})
    assert (defaults.collector, defaults.connect_timeout, defaults.ack_timeout) == ("127.0.0.1:24224", 0.2, 1.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AIRGAPCTL_EVENTS": "maybe"}, "AIRGAPCTL_EVENTS: enabled 'maybe' is not a valid value"),
        ({"AIRGAPCTL_EVENTS_COLLECTOR": "localhost"}, "events collector 'localhost' is not HOST:PORT"),
        ({"AIRGAPCTL_EVENTS_ACK_TIMEOUT": "-1"}, "ack_timeout '-1' is not a valid value"),
        ({"AIRGAPCTL_EVENTS_CONFIG": "/no/such/events.toml"}, "events config /no/such/events.toml"),
    ],
)
def test_bad_settings_are_one_line_errors(env, message):
    with pytest.raises(BadInputError, match=message.replace("(", r"\(")):
        load_settings(env)


def test_an_unknown_config_key_is_named(tmp_path):
    (tmp_path / "e.toml").write_text("colector = 'x'\n")
    with pytest.raises(BadInputError, match="unknown key 'colector'"):
        load_settings({"AIRGAPCTL_EVENTS_CONFIG": str(tmp_path / "e.toml")})


def test_collector_addresses():
    assert collector_address("[::1]:24224") == ("::1", 24224)
    assert collector_address("unix:///run/fluent.sock") == ("unix:///run/fluent.sock", 0)
    with pytest.raises(BadInputError):
        Settings(collector="127.0.0.1:0")
