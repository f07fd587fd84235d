"""Fold one run's aggregates into the baseline (after detection, so a run is judged by its past)."""

from __future__ import annotations

from log_analysis.aggregates import WINDOW
from log_analysis.baseline.model import (
    HOURLY_SAMPLES,
    MAX_ADDRESSES,
    MAX_CLIENTS,
    MAX_OPERATIONS,
    RATE_SAMPLES,
    Baseline,
    ClientStats,
    OperationStats,
    cap_keys,
    decay,
    push,
)
from log_analysis.context import AuditContext

MIN_LATENCY_SAMPLES = 20  # an hour's p95 is learned only from this many proxied requests


def learn(ctx: AuditContext, baseline: Baseline | None) -> Baseline | None:
    """The baseline updated with this run; None when the run used no line."""
    data = ctx.data
    if data.start is None or data.end is None:
        return baseline
    if baseline is None or baseline.identity_key != ctx.identity_key:
        baseline = Baseline(first=data.start, last=data.end, identity_key=ctx.identity_key)
    for client, windows in ctx.actor_windows.items():
        stats = baseline.clients.get(client) or ClientStats(first_seen=min(windows), last_seen=max(windows))
        baseline.clients[client] = stats
        _learn_client(ctx, stats, windows, ctx.actor_hours[client])
        for address in {a for slot in windows.values() for a in slot.addresses}:
            baseline.addresses.add(address)
    for operation, hours in ctx.operation_hours.items():
        stats = baseline.operations.get(operation) or OperationStats(last_seen=data.end)
        baseline.operations[operation] = stats
        _learn_operation(stats, hours, data.end)
    baseline.first, baseline.last = min(baseline.first, data.start), max(baseline.last, data.end)
    baseline.runs += 1
    baseline.learned_lines += sum(row[2] for row in data.files if row[1] is None)
    baseline.learned_seconds += data.end - data.start
    baseline.policy_id = ctx.policy["policy_id"] if ctx.policy else baseline.policy_id
    cap_keys(baseline.clients, MAX_CLIENTS)
    cap_keys(baseline.operations, MAX_OPERATIONS)
    return baseline


def _learn_client(ctx: AuditContext, stats: ClientStats, windows: dict, hours: dict) -> None:
    # Every window of the run counts, silent ones as zero: the median of a busy client is not its peak.
    for window, day_slot in ctx.span_slots:
        slot = windows.get(window)
        push(stats.rate_samples[day_slot], slot.rate_requests if slot else 0, RATE_SAMPLES)
    active_days = set()
    for hour, slot in sorted(hours.items()):
        stats.hours_active[ctx.local_hour(hour)] += 1
        push(stats.hourly_bytes, slot.bytes_out, HOURLY_SAMPLES)
        push(stats.hourly_requests, slot.requests, HOURLY_SAMPLES)
        stats.requests += slot.error_base
        stats.client_errors += slot.client_errors
        active_days.add(ctx.local_day(hour))
        for address in slot.addresses:
            if address in stats.addresses:
                stats.addresses.remove(address)
            push(stats.addresses, address, MAX_ADDRESSES)
    decay(stats, "requests", "client_errors")
    stats.active_days += len(active_days)
    stats.last_seen = max(stats.last_seen, max(windows) + WINDOW)


def _learn_operation(stats: OperationStats, hours: dict, end: float) -> None:
    for _, slot in sorted(hours.items()):
        stats.requests += slot.requests
        stats.server_errors += slot.server_errors
        if sum(slot.latency.values()) >= MIN_LATENCY_SAMPLES:
            push(stats.hourly_p95, slot.quantile(0.95), HOURLY_SAMPLES)
    decay(stats, "requests", "server_errors")
    stats.last_seen = max(stats.last_seen, end)
