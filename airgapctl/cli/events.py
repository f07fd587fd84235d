"""``airgapctl events``: deliver the spool of airgapctl's own events, receive them for rsyslog, show the stored ones
(airgapctl.events)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer

from airgapctl.contracts import events as contract
from airgapctl.errors import BadInputError, EnvironmentProblem
from airgapctl.output import print_json, progress

HELP = "Deliver airgapctl's own events to the collector, receive them for rsyslog, and show the stored events."

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)

JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
SPOOL_OPT = typer.Option(
    None,
    "--spool",
    help="Spool directory. [default: AIRGAPCTL_EVENTS_SPOOL, the config file, or /var/lib/airgap/spool]",
    show_default=False,
)
COLLECTOR_OPT = typer.Option(
    None,
    "--collector",
    metavar="HOST:PORT",
    help="The collector's Forward input. [default: AIRGAPCTL_EVENTS_COLLECTOR, the config file, or 127.0.0.1:24224]",
    show_default=False,
)
STORE_OPT = typer.Option(
    contract.STORE_ROOT, "--store", help="The store's root directory; its events/ directory is read."
)
TAG_OPT = typer.Option(
    None, "--tag", metavar="TAG", help="Only this tag and those below it (bundle, airgap.audit.run, 'airgap.*.run')."
)
SINCE_OPT = typer.Option(
    None,
    "--since",
    metavar="TIME",
    help="Only events at or after TIME: ISO 8601 (UTC unless it has an offset) or a span back from now such as 24h.",
)
LINES_OPT = typer.Option(20, "-n", "--lines", min=0, metavar="N", help="Show the N newest matching events (0: all).")
LISTEN_OPT = typer.Option(
    None,
    "--listen",
    metavar="HOST:PORT",
    help="Where to take the Forward protocol: loopback only (127.0.0.0/8 or [::1]). [default: 127.0.0.1:24224]",
    show_default=False,
)
OUT_OPT = typer.Option(
    None,
    "--out",
    metavar="FILE",
    help="The file the events are appended to. [default: /var/log/airgap/events/events.log]",
    show_default=False,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="events")


@app.callback()
def events() -> None:
    """Deliver airgapctl's own events to the collector, receive them for rsyslog, and show the stored events."""


@app.command()
def flush(spool: Path | None = SPOOL_OPT, collector: str | None = COLLECTOR_OPT, as_json: bool = JSON_OPT) -> None:
    """Send every event waiting in the spool to the collector, in order, each batch acknowledged.

    Exit 3 when the collector cannot be reached or does not acknowledge: what was not delivered
    stays in the spool. A damaged record (cut by a power loss) is reported, kept beside the
    spool, and the events after it are delivered.
    """
    from airgapctl import events as lib

    settings = lib.load_settings()
    changes = {"spool": spool, "collector": collector}
    settings = dataclasses.replace(settings, **{key: value for key, value in changes.items() if value is not None})
    result = lib.flush(settings)
    for warning in lib.damage_warnings(result):
        progress(f"warning: {warning}")
    if as_json:
        print_json(result, status="ok" if result.error is None else "error")
    elif result.error is None:
        print(f"events: {result.sent} delivered to {result.collector}; spool {result.spool} empty")
    if result.error is not None:
        raise EnvironmentProblem(
            f"{result.error}: {result.sent} delivered, {result.pending} still in the spool {result.spool}",
            hint="start the collector, then run 'airgapctl events flush' again",
        )


@app.command()
def tail(
    store: Path = STORE_OPT,
    tag: str | None = TAG_OPT,
    since: str | None = SINCE_OPT,
    lines: int = LINES_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Show stored events in time order, each once (repeats of an id are dropped)."""
    from airgapctl.events.store import read_store
    from log_analysis.timespec import parse_time

    try:
        start = parse_time(since) if since is not None else None
    except ValueError:
        raise BadInputError(
            f"--since {since!r} is not a time", hint="use ISO 8601 (2026-03-01T06:00:00Z) or a span such as 24h"
        ) from None
    reading = read_store(store, tag=tag, since=start)
    matched = len(reading.events)
    shown = reading.events[-lines:] if lines else reading.events
    if as_json:
        print_json({**dataclasses.asdict(reading), "events": shown, "matched": matched})
        return
    for record in shown:
        values = " ".join(f"{name}={_text(value)}" for name, value in record["fields"].items())
        print(f"{record['time']}  {record['host']}  {record['tag']}  {values}".rstrip())
    notes = [f"{matched} event(s) matched, {len(shown)} shown", f"{reading.repeats} repeat(s) dropped"]
    notes += [f"{count} line(s) skipped: {reason}" for reason, count in reading.skipped.items()]
    progress(f"events: {reading.files} file(s) under {reading.directory}; " + "; ".join(notes))


@app.command()
def receive(listen: str | None = LISTEN_OPT, out: Path | None = OUT_OPT) -> None:
    """Take events over the Forward protocol and append them to FILE, for a collector that cannot take
    the protocol itself (rsyslog tails FILE).

    Each event is one JSON line; a packet is acknowledged once its events are written and fsync'd.
    A record that is no event is left out with a line on stderr. FILE is reopened when it is renamed
    or removed (logrotate). Runs until SIGTERM or SIGINT; exit 3 when the port is taken.
    """
    from airgapctl.events.receiver import receive as run_receiver

    run_receiver(listen, out)


def _text(value: object) -> str:
    return value if isinstance(value, str) and value and " " not in value else json.dumps(value, sort_keys=True)
