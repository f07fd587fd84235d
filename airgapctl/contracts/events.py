"""airgapctl's own events: one JSON object per event, the same record on the wire and in the store.

The one definition of an event's record. airgapctl sends it to the local collector as the Forward
message ``[tag, time, record]``; the record already holds its ``tag`` and ``time``, so the collector
stores it as it came, one JSON object per line (Fluentd's out_file with ``format json``, rsyslog's
template ``%msg%``) under ``<store>/events/``. Readers take an event's identity from ``id``: delivery
is at least once, so the store may hold an event twice and every reader drops the repeats.
airgapctl/schemas/event.schema.json states the same for readers outside this code, and a test holds
the two equal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time as clock
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1
# Every event's tag starts with this: the collector routes ``airgap.**`` to the events stream.
TAG_PREFIX = "airgap"
# The store's directory for events, below the store root the logging role keeps.
STREAM = "events"
STORE_ROOT = Path("/var/log/airgap/store")


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the JSON type
    description: str


# In the order airgapctl writes them.
FIELDS = (
    Field("v", "integer", "The record's format version."),
    Field("id", "string", "Unique per event, 32 lowercase hex digits: readers drop repeats by it."),
    Field("time", "string", "When the event happened, RFC 3339 UTC with microseconds and Z."),
    Field("tag", "string", "What happened, dotted, starting with 'airgap.' (airgap.bundle.verify)."),
    Field("host", "string", "The host that emitted it."),
    Field("fields", "object", "The event's own values: names, numbers and counts, never a secret."),
)
FIELD = {field.name: field for field in FIELDS}
NAMES = tuple(field.name for field in FIELDS)

TAG = re.compile(rf"^{TAG_PREFIX}(\.[a-z0-9_]+)+$")
ID = re.compile(r"^[0-9a-f]{32}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def full_tag(tag: str) -> str:
    """``bundle.verify`` -> ``airgap.bundle.verify``; a tag already under the prefix is kept."""
    name = tag if tag == TAG_PREFIX or tag.startswith(TAG_PREFIX + ".") else f"{TAG_PREFIX}.{tag}"
    if not TAG.match(name):
        raise ValueError(f"event tag {tag!r}: dotted words of a-z, 0-9 and _ only")
    return name


def format_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


def _check_value(value: Any, where: str) -> None:
    """JSON values only, so the record is the same through msgpack, the collector and the store."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"event field {where}: {value} has no JSON form")
        return
    if isinstance(value, (list, tuple)):
        for number, item in enumerate(value):
            _check_value(item, f"{where}[{number}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"event field {where}: key {key!r} is not a string")
            _check_value(item, f"{where}.{key}")
        return
    raise ValueError(f"event field {where}: {type(value).__name__} is not a JSON value")


def new_record(tag: str, fields: dict[str, Any] | None, host: str, when: float | None = None) -> dict[str, Any]:
    """A new event's record, with a fresh id; ``when`` in epoch seconds, now when None."""
    values = dict(fields or {})
    for name, value in values.items():
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            raise ValueError(f"event field name {name!r}: a-z, 0-9 and _, starting with a letter")
        _check_value(value, name)
    return {
        "v": VERSION,
        "id": uuid.uuid4().hex,
        "time": format_time(clock.time() if when is None else when),
        "tag": full_tag(tag),
        "host": host,
        "fields": json.loads(json.dumps(values)),  # tuples become lists, as every reader sees them
    }


def store_line(record: dict[str, Any]) -> str:
    """The record as the store holds it: one compact JSON object and a newline."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def problem(record: Any) -> str | None:
    """Why ``record`` is not an event of this contract, or None when it is."""
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [name for name in NAMES if name not in record]
    if missing:
        return f"missing {', '.join(missing)}"
    if record["v"] != VERSION:
        return f"unknown version {record['v']!r}"
    checks = (
        ("id", ID),
        ("time", TIME),
        ("tag", TAG),
    )
    for name, pattern in checks:
        if not isinstance(record[name], str) or not pattern.match(record[name]):
            return f"bad {name} {record[name]!r}"
    if not isinstance(record["host"], str):
        return "bad host"
    if not isinstance(record["fields"], dict):
        return "fields is not an object"
    return None


def parse_line(line: str | bytes) -> dict[str, Any]:
    """One stored line as a record; ValueError saying why it is not one."""
    try:
        record = json.loads(line)
    except ValueError:
        raise ValueError("not JSON") from None
    reason = problem(record)
    if reason:
        raise ValueError(reason)
    return record
