"""Render results for people (text) or machines (one versioned JSON document)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import Any

# The envelope's format is airgapctl/schemas/envelope.schema.json (described in docs/json-output.md).
SCHEMA_VERSION = 1


def to_plain(value: Any) -> Any:
    """Turn dataclasses (and containers of them) into JSON-ready values; paths become strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def json_document(data: Any, status: str = "ok", errors: list[dict[str, Any]] | None = None) -> str:
    """The envelope every ``--json`` output uses."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "status": status,
        "data": to_plain(data),
        "errors": errors or [],
    }
    return json.dumps(doc, indent=2, sort_keys=True)


def error_object(exit_code: int, message: str, hint: str | None = None) -> dict[str, Any]:
    """One entry of the envelope's ``errors``: the process exit code and the one-line error."""
    return {"exit_code": int(exit_code), "message": message, "hint": hint}


@dataclasses.dataclass
class HeldDocument:
    """What a command gave print_json while main() holds the document; status None: nothing yet."""

    data: Any = None
    status: str | None = None


_held: HeldDocument | None = None


@contextmanager
def hold_document() -> Iterator[HeldDocument]:
    """Keep print_json's document instead of printing it, so that the caller prints exactly one:
    a command that prints its result and then fails (audit findings, invalid specs) puts both in it."""
    global _held
    _held = HeldDocument()
    try:
        yield _held
    finally:
        _held = None


def print_json(data: Any, status: str = "ok") -> None:
    if _held is not None:
        _held.data, _held.status = data, status
        return
    print(json_document(data, status=status))


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned table on stdout; no colours, so it pastes into tickets."""
    if not rows:
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


def progress(message: str) -> None:
    """Progress and notes go to stderr so stdout stays the result."""
    print(message, file=sys.stderr, flush=True)
