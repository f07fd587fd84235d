"""The audit engine behind ``airgapctl audit`` (scheduled audits of stored gateway logs).

readers/     gateway JSON lines and combined logs, plain or gzip, as one SQL relation; bad lines marked
aggregates   the single DuckDB scan (GROUPING SETS) into small per-key tables
context      those tables regrouped per client, address and operation, for the detectors
detectors/   the behaviour detectors and the one registry (drift detectors included)
drift/       shadow, zombie and orphan routes, role drift, policy mismatch, configuration drift
baseline/    what was learned from earlier runs, bounded, kept in --state
reports/     the report document and its JSON, HTML and Markdown renderings
simulate/    realistic logs for a policy with injected incidents and their ground truth
pipeline     run_audit(): read, aggregate, detect, learn, report
"""

from __future__ import annotations
