"""airgapctl's own events (bundle verified or rejected, audit runs), delivered to the local collector.

    from airgapctl import events
    events.emit("bundle.verify", {"name": "site-a", "sequence": 4, "outcome": "accepted"})

An event is sent over the Forward protocol (Fluentd's in_forward) and counts as sent only when
the collector acknowledged it; otherwise it waits in the on-disk spool and is sent, in order,
by the next emit or by ``airgapctl events flush``. Delivery is at least once: every event has
a unique id, and readers of the store (events.store, ``airgapctl events tail``) drop repeats.

contracts/events   the record, the same on the wire and in the store
settings           collector address, spool directory, timeouts, AIRGAPCTL_EVENTS=off
sender             FluentSender with the Forward protocol's acks
spool              the append-only, checksummed, fsync'd spool
emitter            one process's emitting: collector first, spool when it fails, in order
store              reading the stored events back, repeats dropped
receiver           ``airgapctl events receive``: the Forward receiver for an rsyslog collector
"""

from __future__ import annotations

from typing import Any

from airgapctl.errors import AirgapError
from airgapctl.events.emitter import Emitter, FlushResult, Outcome, damage_warnings
from airgapctl.events.settings import Settings, load_settings
from airgapctl.output import progress

__all__ = [
    "Emitter", "FlushResult", "Outcome", "Settings",
    "damage_warnings", "emit", "emit_or_warn", "emitter", "flush", "load_settings",
]  # fmt: skip

# One per settings for the whole process, so that a collector found down is found down once.
_emitters: dict[Settings, Emitter] = {}


def emitter(settings: Settings | None = None) -> Emitter:
    """This process's emitter for ``settings`` (those in force when None)."""
    chosen = settings if settings is not None else load_settings()
    if chosen not in _emitters:
        _emitters[chosen] = Emitter(chosen)
    return _emitters[chosen]


def emit(
    tag: str, fields: dict[str, Any] | None = None, *, when: float | None = None, settings: Settings | None = None
) -> Outcome | None:
    """Emit one event: ``tag`` such as ``bundle.verify`` (stored as ``airgap.bundle.verify``), ``fields``
    JSON values (names and counts, never a secret), ``when`` epoch seconds (now by default).

    None when events are off. Raises EnvironmentProblem when neither the collector nor the spool took
    the event, BadInputError when the settings are wrong, ValueError for fields that are not JSON values.
    """
    chosen = settings if settings is not None else load_settings()
    if not chosen.enabled:
        return None
    return emitter(chosen).emit(tag, fields, when=when)


def emit_or_warn(tag: str, fields: dict[str, Any] | None = None, *, settings: Settings | None = None) -> Outcome | None:
    """emit() for commands whose own outcome must stand: any failure is one warning line on stderr."""
    try:
        outcome = emit(tag, fields, settings=settings)
    except AirgapError as error:
        progress(f"warning: event {tag} not recorded: {error.message}")
        return None
    for warning in outcome.warnings if outcome else ():
        progress(f"warning: {warning}")
    return outcome


def flush(settings: Settings | None = None) -> FlushResult:
    """Deliver the spool now, in order (whether or not events are on)."""
    return emitter(settings).flush()
