"""--since/--until values: ISO 8601 dates or times, or a span back from now such as 24h or 7d."""

from __future__ import annotations

import datetime as dt
import re

_SPAN = re.compile(r"^-?(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: float | None = None) -> float:
    """Epoch seconds. Times without an offset are UTC; a bare date is its midnight UTC."""
    value = text.strip()
    span = _SPAN.match(value)
    if span:
        reference = now if now is not None else dt.datetime.now(dt.UTC).timestamp()
        return reference - int(span.group(1)) * _UNITS[span.group(2)]
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()
