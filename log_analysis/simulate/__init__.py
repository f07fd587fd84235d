"""Realistic gateway access logs for a policy, with injected incidents and their ground truth."""

from __future__ import annotations

from log_analysis.simulate.scenario import INJECTORS, SimulationOptions, SimulationResult, simulate

__all__ = ["INJECTORS", "SimulationOptions", "SimulationResult", "simulate"]
