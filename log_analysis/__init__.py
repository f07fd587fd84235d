"""The audit engine: readers, detectors, drift, baselines and reports (issue: scheduled audits)."""
