"""Who calls what, when: client personalities, their daily rhythm and the operations they use."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

WINDOW = 300  # the simulator draws traffic per five-minute window
TABLE_BITS = 10
TABLE = 1 << TABLE_BITS
# Relative activity per local hour for each kind of client (peak 1.0).
_OFFICE = (0, 0, 0, 0, 0, 0, 0, 0.25, 0.7, 1.0, 1.0, 0.9, 0.6, 0.8, 1.0, 0.95, 0.8, 0.5, 0.2, 0, 0, 0, 0, 0)
_SERVICE = (
    0.5,
    0.45,
    0.4,
    0.4,
    0.45,
    0.5,
    0.6,
    0.75,
    0.9,
    1.0,
    1.0,
    1.0,
    0.95,
    1.0,
    1.0,
    1.0,
    0.95,
    0.9,
    0.8,
    0.75,
    0.7,
    0.65,
    0.6,
    0.55,
)
_BATCH = (0.6, 1.0, 1.0, 1.0, 0.8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3)
RHYTHMS = {"office": _OFFICE, "service": _SERVICE, "batch": _BATCH}
_WEEKEND = {"office": 0.0, "service": 0.8, "batch": 1.0}


@dataclass
class SimOperation:
    """One policy operation and how its answers look (sizes, latency, success status)."""

    op: dict[str, Any]
    latency_median: float
    bytes_median: float
    ok_status: int
    param_values: list[tuple[str, list[str]]] = field(default_factory=list)
    # Samples drawn once and picked at random: a table look-up is far cheaper than a draw per request.
    paths: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    def prepare(self, rng: random.Random) -> None:
        self.paths = [self.path(rng) for _ in range(TABLE)]
        self.latencies = [self.latency_median * math.exp(rng.gauss(0, 0.5)) for _ in range(TABLE)]
        self.sizes = [int(self.bytes_median * math.exp(rng.gauss(0, 0.6))) + 240 for _ in range(TABLE)]

    @property
    def id(self) -> str:
        return self.op["id"]

    @property
    def method(self) -> str:
        return self.op["method"]

    def path(self, rng: random.Random) -> str:
        path = self.op["gateway_path"]
        for name, values in self.param_values:
            path = path.replace("{" + name + "}", rng.choice(values))
        return path


@dataclass
class ClientProfile:
    name: str
    subject: str
    roles: str
    kind: str
    peak: float  # expected requests per five-minute window at the peak hour
    addresses: list[str]
    operations: list[SimOperation]
    weights: list[float]
    denied: list[SimOperation]  # operations its roles do not allow (for the odd forbidden_role)
    op_table: list[SimOperation] = field(default_factory=list)  # operations drawn by weight, picked at random

    def prepare(self, rng: random.Random) -> None:
        self.op_table = rng.choices(self.operations, self.weights, k=TABLE)

    def rate(self, local_hour: int, weekday: int) -> float:
        weekend = _WEEKEND[self.kind] if weekday >= 5 else 1.0
        return self.peak * RHYTHMS[self.kind][local_hour] * weekend


def _uuid(rng: random.Random) -> str:
    return "-".join(f"{rng.getrandbits(bits):0{bits // 4}x}" for bits in (32, 16, 16, 16, 48))


def _candidates(regex: str, rng: random.Random) -> list[str]:
    """Values a path parameter's regex accepts: digits, UUIDs, dates or words, whichever fits."""
    pools = (
        [str(rng.randint(1, 99999)) for _ in range(400)],
        [_uuid(rng) for _ in range(200)],
        [f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(100)],
        [f"wh-{rng.randint(1, 40)}" for _ in range(40)],
    )
    for pool in pools:
        if all(re.fullmatch(regex, value) for value in pool[:5]):
            return pool
    return ["x"]


def simulated_operations(policy: dict[str, Any], rng: random.Random) -> list[SimOperation]:
    operations = []
    for op in policy["operations"]:
        ok = {"POST": 201, "DELETE": 204}.get(op["method"], 200)
        size = 200.0 if op["method"] in ("DELETE", "PUT", "PATCH") else rng.choice((900.0, 2500.0, 6000.0, 15000.0))
        params = [(p["name"], _candidates(p["regex"], rng)) for p in op["path_params"]]
        operations.append(SimOperation(op, rng.uniform(0.015, 0.09), size, ok, params))
        operations[-1].prepare(rng)
    return operations


def _kind(rng: random.Random) -> str:
    draw = rng.random()
    return "office" if draw < 0.6 else "service" if draw < 0.9 else "batch"


def client_profiles(policy: dict[str, Any], operations: list[SimOperation], rng: random.Random) -> list[ClientProfile]:
    """One profile per policy client that may call at least one live operation."""
    profiles = []
    for index, client in enumerate(policy["clients"]):
        roles = set(client["roles"])
        live = [s for s in operations if not s.op["deprecated"]]
        allowed = [s for s in live if roles & set(s.op["roles"])]
        if not allowed:
            continue
        # Zipf-like popularity; reads far more common than writes.
        weights = [(1.0 if s.method == "GET" else 0.25) / (rank + 1) ** 0.7 for rank, s in enumerate(allowed)]
        rng.shuffle(weights)
        addresses = [f"10.{20 + index // 200}.{index % 200}.{10 + k}" for k in range(1 + (rng.random() < 0.1))]
        denied = [s for s in live if not roles & set(s.op["roles"])]
        profiles.append(
            ClientProfile(
                client["name"],
                client["subject"],
                ",".join(sorted(roles)),
                _kind(rng),
                math.exp(rng.gauss(0, 0.8)),
                addresses,
                allowed,
                weights,
                denied,
            )
        )
        profiles[-1].prepare(rng)
    return profiles


def expected_requests(profiles: list[ClientProfile], days: int, start_weekday: int) -> float:
    """Requests the profiles would make over ``days`` at their current peaks (to scale to a target)."""
    per_hour_windows = 3600 // WINDOW
    total = 0.0
    for day in range(days):
        weekday = (start_weekday + day) % 7
        for hour in range(24):
            total += sum(p.rate(hour, weekday) for p in profiles) * per_hour_windows
    return total
