"""Detectors, listed in one explicit registry (no discovery by module name).

Each entry follows the same contract (log_analysis.detectors.base.Detector): its id is the
``detector`` name every one of its findings carries.
"""

from __future__ import annotations

from log_analysis.detectors import (
    auth_failures,
    error_ratio,
    exfiltration,
    forbidden_calls,
    input_quality,
    latency,
    new_client,
    off_hours,
    probing,
    rate_limited,
    rate_spike,
    schema_violation,
)
from log_analysis.detectors.base import Detector
from log_analysis.drift import config_drift, orphan_route, policy_mismatch, role_drift, shadow_route, zombie_route

REGISTRY: tuple[Detector, ...] = (
    rate_spike.DETECTOR,
    new_client.DETECTOR,
    error_ratio.DETECTOR,
    probing.DETECTOR,
    auth_failures.DETECTOR,
    forbidden_calls.DETECTOR,
    schema_violation.DETECTOR,
    off_hours.DETECTOR,
    exfiltration.DETECTOR,
    latency.DETECTOR,
    rate_limited.DETECTOR,
    shadow_route.DETECTOR,
    zombie_route.DETECTOR,
    orphan_route.DETECTOR,
    role_drift.DETECTOR,
    policy_mismatch.DETECTOR,
    config_drift.DETECTOR,
    input_quality.DETECTOR,
)
DETECTORS: dict[str, Detector] = {detector.id: detector for detector in REGISTRY}

__all__ = ["DETECTORS", "REGISTRY", "Detector"]
