"""Readers: gateway JSON lines and combined logs, plain or gzip, as one relation of event columns.

A reader never aborts on a bad line: it marks the row with a ``problem`` (unparsable, missing_field,
bad_time, over_long, binary, outside_window ...) and the pipeline counts rows by problem per file.
"""

from __future__ import annotations

from typing import Any

from log_analysis.readers.combined import combined_source
from log_analysis.readers.gateway_json import json_source
from log_analysis.readers.inputs import COMBINED, JSON, LogInput, discover_inputs
from log_analysis.readers.sql import EVENT_COLUMNS, ReadOptions

__all__ = ["COMBINED", "EVENT_COLUMNS", "JSON", "LogInput", "ReadOptions", "discover_inputs", "events_sql"]


def events_sql(inputs: list[LogInput], options: ReadOptions, policy: dict[str, Any] | None) -> str:
    """One SQL relation over every input, oldest file first; ``fi`` is the file's index in ``inputs``."""
    selects = [
        combined_source(index, log, options, policy) if log.format == COMBINED else json_source(index, log, options)
        for index, log in enumerate(inputs)
    ]
    return "\nUNION ALL BY NAME\n".join(selects)
