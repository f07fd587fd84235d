"""Baselines: per-client and per-operation statistics learned from earlier runs, in bounded memory.

model.py holds the structures and their caps, learn.py folds a run into them (import it from
there: it needs the detectors' context), store.py keeps them in the --state directory.
"""

from __future__ import annotations

from log_analysis.baseline.model import Baseline, ClientStats, OperationStats
from log_analysis.baseline.store import load_baseline, save_baseline, state_lock

__all__ = ["Baseline", "ClientStats", "OperationStats", "load_baseline", "save_baseline", "state_lock"]
