"""What the detectors receive: the aggregates, regrouped per actor, address and operation, plus
the policy (or None), the baseline (or None), the audit window and what each file held.

An actor is whom the baselines follow: the identity the gateway established, or, in logs whose
lines carry no identity (combined logs of a server that did not authenticate its clients), the
source address (``identity_key``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from log_analysis.aggregates import HOUR, LATENCY_BINS_PER_OCTAVE, WINDOW, AuditData
from log_analysis.baseline.model import Baseline
from log_analysis.model import FileStats, Subject


@dataclass(slots=True)
class Slot:
    """Counts for one key in one time slot (a five-minute window or an hour)."""

    requests: int = 0  # every line
    # API calls that passed the rate limiter (no probes, no auth failures, no calls outside the roles, no 429)
    rate_requests: int = 0
    bytes_out: int = 0
    client_errors: int = 0
    server_errors: int = 0
    limited: int = 0
    auth_failures: int = 0
    probes: int = 0
    denied: int = 0
    forbidden: int = 0  # forbidden_role refusals: calls of operations the client's roles do not allow
    invalid: int = 0  # refused for breaking the operation's spec (enforce mode)
    violations: int = 0  # flagged by the spec check: served (report mode) or refused
    addresses: dict[str, int] = field(default_factory=dict)  # source address -> requests (tens of thousands of slots)

    def add(self, row: tuple, address: str = "") -> None:
        n, bytes_out, _, n5xx, client_errors, n429, auth, probes, denied, forbidden, invalid, violations = row[:12]
        self.requests += n
        self.rate_requests += n - probes - n429 - auth - forbidden
        self.bytes_out += bytes_out or 0
        self.client_errors += client_errors
        self.server_errors += n5xx
        self.limited += n429
        self.auth_failures += auth
        self.probes += probes
        self.denied += denied
        self.forbidden += forbidden
        self.invalid += invalid
        self.violations += violations
        if address:
            self.addresses[address] = self.addresses.get(address, 0) + n

    @property
    def error_base(self) -> int:
        """Requests a client error share is taken over: those no other detector owns."""
        return self.requests - self.probes - self.limited - self.auth_failures - self.forbidden - self.invalid

    @property
    def spec_base(self) -> int:
        """Requests a violation share is taken over: the calls that reached their operation (no probes,
        auth failures, calls outside the roles or 429s)."""
        return max(self.rate_requests, self.violations)


@dataclass
class GatewayConfig:
    directory: Path
    explicit: bool  # given with --gateway-config (a missing directory is then bad input)


CLIENT, ADDRESS = "client", "remote_addr"  # what the baselines key on
IDENTIFIED_SHARE = 0.5  # logs with at least this share of lines carrying an identity are keyed on it


def identity_key_of(data: AuditData) -> str:
    """``client`` when most lines used carry an identity, else ``remote_addr``."""
    identified = sum(row[3] for row in data.actors if row[0])
    total = sum(row[3] for row in data.actors)
    return CLIENT if total and identified >= IDENTIFIED_SHARE * total else ADDRESS


@dataclass
class AuditContext:
    data: AuditData
    policy: dict[str, Any] | None
    baseline: Baseline | None
    window_start: float
    window_end: float
    gateway_config: GatewayConfig | None = None
    notes: list[str] = field(default_factory=list)
    identity_key: str = CLIENT
    files: list[FileStats] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)  # results several detectors use, computed once
    state_dir: Path | None = None  # --state, for what a detector keeps between runs
    may_write_state: bool = False  # False with --no-learn and --full: the state is left as it was
    drift_report: dict[str, Any] | None = None  # --drift: what airgapctl drift found (drift.schema.json)
    drift_file: str | None = None

    def actor_subject(self, actor: str) -> Subject:
        return Subject(client=actor) if self.identity_key == CLIENT else Subject(remote_addr=actor)

    def _actor(self, client: str, address: str) -> str:
        return client if self.identity_key == CLIENT else address

    @property
    def utc_offset_hours(self) -> int:
        return self.data.utc_offset_hours

    def local_hour(self, epoch: float) -> int:
        return int((epoch // HOUR + self.utc_offset_hours) % 24)

    def day_slot(self, epoch: float) -> int:
        """Local hour of day, plus 24 on Saturdays and Sundays (day 0 of the epoch was a Thursday)."""
        weekend = (self.local_day(epoch) + 3) % 7 >= 5
        return self.local_hour(epoch) + (24 if weekend else 0)

    def local_day(self, epoch: float) -> int:
        return int((epoch + self.utc_offset_hours * HOUR) // 86400)

    @cached_property
    def actor_windows(self) -> dict[str, dict[int, Slot]]:
        """Actors' five-minute windows: authenticated clients', or every source address's."""
        table: dict[str, dict[int, Slot]] = defaultdict(lambda: defaultdict(Slot))
        for client, address, win, *measures in self.data.actors:
            actor = self._actor(client, address)
            if actor:
                table[actor][win].add(measures, address)
        return table

    @cached_property
    def actor_hours(self) -> dict[str, dict[int, Slot]]:
        table: dict[str, dict[int, Slot]] = defaultdict(lambda: defaultdict(Slot))
        for client, address, win, *measures in self.data.actors:
            actor = self._actor(client, address)
            if actor:
                table[actor][win // HOUR * HOUR].add(measures, address)
        return table

    @cached_property
    def failing_address_windows(self) -> dict[str, dict[int, Slot]]:
        """Five-minute windows of the source addresses that failed authentication at least once."""
        failing = {address for _, address, _, *measures in self.data.actors if measures[6]}
        table: dict[str, dict[int, Slot]] = defaultdict(lambda: defaultdict(Slot))
        for _, address, win, *measures in self.data.actors:
            if address in failing:
                table[address][win].add(measures)
        return table

    @cached_property
    def anonymous_windows(self) -> dict[str, dict[int, Slot]]:
        """Five-minute windows of the lines no actor covers (no identity, when actors are identities),
        per source address."""
        table: dict[str, dict[int, Slot]] = defaultdict(lambda: defaultdict(Slot))
        if self.identity_key != CLIENT:
            return table
        for client, address, win, *measures in self.data.actors:
            if not client:
                table[address][win].add(measures)
        return table

    @cached_property
    def operation_hours(self) -> dict[str, dict[int, OperationHour]]:
        table: dict[str, dict[int, OperationHour]] = defaultdict(lambda: defaultdict(OperationHour))
        for operation, hour, latency_bin, n, _, _, n5xx, *_ in self.data.operations:
            if operation:
                slot = table[operation][hour]
                slot.requests += n
                slot.server_errors += n5xx
                if latency_bin is not None:
                    slot.latency[latency_bin] += n
        return table

    @cached_property
    def operation_client_hours(self) -> dict[str, dict[int, dict[str, Slot]]]:
        """Operation -> hour -> the identities that called it, each with its counts there."""
        table: dict[str, dict[int, dict[str, Slot]]] = defaultdict(lambda: defaultdict(dict))
        for operation, client, hour, *measures in self.data.operation_clients:
            slots = table[operation][hour]
            slot = slots.get(client) or slots.setdefault(client, Slot())
            slot.add(measures)
        return table

    @cached_property
    def span_slots(self) -> list[tuple[int, int]]:
        """(window, day slot) for every window of the span: day_slot computed once per window."""
        return [(window, self.day_slot(window)) for window in self.span_windows]

    @cached_property
    def span_windows(self) -> range:
        """Every five-minute window between the first and the last line used."""
        if self.data.start is None or self.data.end is None:
            return range(0)
        return range(int(self.data.start) // WINDOW * WINDOW, int(self.data.end) + 1, WINDOW)

    @cached_property
    def policy_operations(self) -> dict[str, dict[str, Any]]:
        return {op["id"]: op for op in self.policy["operations"]} if self.policy else {}

    @cached_property
    def client_roles(self) -> dict[str, set[str]]:
        return {c["name"]: set(c["roles"]) for c in self.policy["clients"]} if self.policy else {}


@dataclass
class OperationHour:
    requests: int = 0
    server_errors: int = 0
    latency: Counter = field(default_factory=Counter)  # latency bin -> proxied requests

    def quantile(self, q: float) -> float | None:
        """The q-quantile of latency in seconds (upper edge of its bin), or None without samples."""
        total = sum(self.latency.values())
        if not total:
            return None
        seen = 0
        for latency_bin in sorted(self.latency):
            seen += self.latency[latency_bin]
            if seen >= q * total:
                return (2 ** ((latency_bin + 1) / LATENCY_BINS_PER_OCTAVE) - 1) / 1000
        return None
