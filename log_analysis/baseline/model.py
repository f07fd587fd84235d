"""What the audit learned about each client and operation, in bounded memory.

Every per-key structure has a fixed cap (ring buffers of recent samples, top addresses), the
number of keys is capped too (least recently seen dropped first), and source addresses live in a
fixed-size Bloom filter: the state's size does not grow with the lines read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from log_analysis.baseline.bloom import BloomFilter

BASELINE_SCHEMA = "airgapctl/audit-baseline"
BASELINE_VERSION = 1
RATE_SAMPLES = 48  # five-minute request counts kept per client, local hour of day and kind of day
DAY_SLOTS = 48  # 24 hours of a working day, then 24 of a weekend day: weekly rhythms differ by both
HOURLY_SAMPLES = 168  # one week of active hours (bytes, requests, p95 latency)
MAX_ADDRESSES = 16
MAX_CLIENTS = 20_000
MAX_OPERATIONS = 20_000
DECAY_LIMIT = 1_000_000  # decayed totals are halved past this, so old history weighs less


@dataclass
class ClientStats:
    first_seen: float
    last_seen: float
    # In how many learned hours the client was active, per local hour of day.
    hours_active: list[int] = field(default_factory=lambda: [0] * 24)
    # Recent 5-min request counts per day slot (local hour, working day or weekend: AuditContext.day_slot).
    rate_samples: list[list[int]] = field(default_factory=lambda: [[] for _ in range(DAY_SLOTS)])
    hourly_bytes: list[int] = field(default_factory=list)
    hourly_requests: list[int] = field(default_factory=list)
    requests: float = 0.0  # decayed totals for the error share
    client_errors: float = 0.0
    addresses: list[str] = field(default_factory=list)
    active_days: int = 0


@dataclass
class OperationStats:
    last_seen: float
    hourly_p95: list[float] = field(default_factory=list)  # seconds
    requests: float = 0.0
    server_errors: float = 0.0


@dataclass
class Baseline:
    first: float
    last: float
    policy_id: str = ""
    runs: int = 0
    learned_lines: int = 0
    learned_seconds: float = 0.0
    identity_key: str = "client"  # what its clients are keyed on: identities, or remote_addr (no identities)
    clients: dict[str, ClientStats] = field(default_factory=dict)
    operations: dict[str, OperationStats] = field(default_factory=dict)
    addresses: BloomFilter = field(default_factory=BloomFilter)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": BASELINE_SCHEMA,
            "schema_version": BASELINE_VERSION,
            "first": self.first,
            "last": self.last,
            "policy_id": self.policy_id,
            "runs": self.runs,
            "learned_lines": self.learned_lines,
            "learned_seconds": self.learned_seconds,
            "identity_key": self.identity_key,
            # vars(), not asdict(): the fields are plain numbers and lists, and asdict deep-copies them slowly.
            "clients": {name: vars(stats) for name, stats in self.clients.items()},
            "operations": {name: vars(stats) for name, stats in self.operations.items()},
            "addresses": self.addresses.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        ours = isinstance(data, dict) and data.get("schema") == BASELINE_SCHEMA
        if not ours or data.get("schema_version") != BASELINE_VERSION:
            raise ValueError(f"not a version {BASELINE_VERSION} audit baseline")
        return cls(
            first=float(data["first"]),
            last=float(data["last"]),
            policy_id=str(data.get("policy_id", "")),
            runs=int(data["runs"]),
            learned_lines=int(data["learned_lines"]),
            learned_seconds=float(data["learned_seconds"]),
            identity_key=str(data.get("identity_key", "client")),
            clients={name: ClientStats(**stats) for name, stats in data["clients"].items()},
            operations={name: OperationStats(**stats) for name, stats in data["operations"].items()},
            addresses=BloomFilter.from_json(data["addresses"]),
        )


def push(ring: list, value: Any, cap: int) -> None:
    """Append to a bounded ring (oldest dropped first)."""
    ring.append(value)
    if len(ring) > cap:
        del ring[: len(ring) - cap]


def decay(stats: ClientStats | OperationStats, total: str, *parts: str) -> None:
    """Halve a decayed total and its parts once it passes DECAY_LIMIT."""
    if getattr(stats, total) > DECAY_LIMIT:
        for name in (total, *parts):
            setattr(stats, name, getattr(stats, name) / 2)


def cap_keys(table: dict[str, Any], cap: int) -> None:
    """Keep the ``cap`` most recently seen keys."""
    if len(table) > cap:
        for name in sorted(table, key=lambda k: table[k].last_seen)[: len(table) - cap]:
            del table[name]
