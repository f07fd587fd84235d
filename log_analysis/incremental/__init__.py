"""Incremental runs: with --state, each run reads only what the logs gained since the last one.

positions  how far earlier runs read each file, known by a hash of its first block (reading.json)
plan       what to read of each file now, and where the run got to afterwards
carry      the aggregates of the hour the last run stopped in, joined to the next run's
"""

from __future__ import annotations

from log_analysis.incremental.carry import remember_reported, reported_before, tail_of, with_carry
from log_analysis.incremental.plan import ReadingPlan, Unchanged, plan_reading, record_reading
from log_analysis.incremental.positions import ReadingState, load_reading, save_reading

__all__ = [
    "ReadingPlan",
    "ReadingState",
    "Unchanged",
    "load_reading",
    "plan_reading",
    "record_reading",
    "remember_reported",
    "reported_before",
    "save_reading",
    "tail_of",
    "with_carry",
]
