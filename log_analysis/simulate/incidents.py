"""Injected incidents, one kind per detector, each with the ground truth a correct audit should report."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airgapctl.contracts.access_log import Reason
from log_analysis.simulate.events import Event, served
from log_analysis.simulate.profiles import WINDOW, ClientProfile, SimOperation

OLD_POLICY_ID = "sha256:" + "0" * 63 + "1"
PROBE_PATHS = (
    "/admin",
    "/.env",
    "/wp-login.php",
    "/.git/config",
    "/actuator/health",
    "/server-status",
    "/api/v1/users",
    "/console",
    "/phpmyadmin/index.php",
    "/cgi-bin/test.cgi",
    "/backup.zip",
    "/config.json",
    "/debug/vars",
    "/swagger.json",
    "/graphql",
    "/internal/metrics",
)


@dataclass
class Incident:
    detector: str
    subject: dict[str, str]
    start: float
    end: float
    note: str
    add_events: Callable[[float], list[Event]] | None = None  # events to add to the window starting at the argument
    change: Callable[[Event], None] | None = None  # applied to normal events in [start, end) that `applies` to
    applies: Callable[[Event], bool] = lambda event: False
    suppressed_operation: str = ""  # never called during the audit days (orphan)
    dormant_client: str = ""  # never active before the incident (new identity)
    config_edit: bool = False
    add_lines: Callable[[float], list[str]] | None = None  # damaged lines (text) to add to the window

    def truth(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "subject": self.subject,
            "start": self.start,
            "end": self.end,
            "note": self.note,
        }


@dataclass
class SimContext:
    policy: dict[str, Any]
    operations: list[SimOperation]
    profiles: list[ClientProfile]
    rng: random.Random
    audit_start: float  # epoch of local midnight of the first audit day
    audit_days: int
    utc_offset: int  # seconds
    start_weekday: int  # weekday of the audit's first day
    policy_id: str
    used: set[str] = field(default_factory=set)  # clients already given an incident
    used_operations: set[str] = field(default_factory=set)
    dormant: set[str] = field(default_factory=set)  # clients that must stay silent until their incident

    def at(self, day: int, hour: float) -> float:
        """Epoch seconds of local ``hour`` on audit day ``day`` (wrapping into the audit days)."""
        return self.audit_start + (day % self.audit_days) * 86400 + hour * 3600

    def client(
        self,
        kinds: tuple[str, ...],
        day: int,
        hour: int,
        busiest: bool = True,
        eligible: Callable[[ClientProfile], bool] = lambda profile: True,
    ) -> ClientProfile | None:
        """A client not yet given an incident, active at ``hour`` on a working day and ``eligible``: of
        ``kinds`` if any is left, else of any kind (small policies run out of service clients)."""
        free = [p for p in self.profiles if p.name not in self.used and p.rate(hour, 0) > 0 and eligible(p)]
        preferred = [p for p in free if p.kind in kinds] or ([] if "office" in kinds and len(kinds) == 1 else free)
        if not preferred:
            return None
        preferred.sort(key=lambda p: p.rate(hour, 0), reverse=busiest)
        chosen = preferred[min(len(preferred) - 1, len(preferred) // 4)]
        self.used.add(chosen.name)
        return chosen

    def live(self) -> list[SimOperation]:
        return [s for s in self.operations if not s.op["deprecated"]]


def spread(count: int, start: float, end: float, window: float, rng: random.Random) -> list[float]:
    """The timestamps, among ``count`` spread evenly over [start, end), that fall in [window, window+WINDOW)."""
    step = (end - start) / count
    times = (start + i * step + rng.random() * step for i in range(count))
    return [t for t in times if window <= t < window + WINDOW]


def served_to(client: ClientProfile) -> Callable[[Event], bool]:
    return lambda event: event.client is client and event.reason in (Reason.OK, Reason.DEPRECATED)


def normal_ok(ctx: SimContext, ts: float, client: ClientProfile) -> Event:
    sim = ctx.rng.choices(client.operations, client.weights)[0]
    return served(ts, client, client.addresses[0], sim, ctx.rng, ctx.policy_id)


def burst(
    ctx: SimContext,
    client: ClientProfile,
    count: int,
    start: float,
    end: float,
    mutate: Callable[[Event], None] | None = None,
) -> Callable[[float], list[Event]]:
    """``count`` ordinary calls of ``client`` spread over [start, end), optionally altered."""

    def add(window: float) -> list[Event]:
        events = [normal_ok(ctx, t, client) for t in spread(count, start, end, window, ctx.rng)]
        if mutate is not None:
            for event in events:
                mutate(event)
        return events

    return add
