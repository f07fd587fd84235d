"""``airgapctl store``: keep the collector's log store within its disk (airgapctl.logstore)."""

from __future__ import annotations

from pathlib import Path

import typer

from airgapctl.errors import CollectorPausedError, EnvironmentProblem
from airgapctl.output import print_json, progress
from airgapctl.progress import format_size

HELP = "Keep the log store within its disk: compress closed days, expire old ones, pause the collector."

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)

# Numbers are taken as text and checked by logstore.parse_options, so that a wrong one is one line.
STORE_OPT = typer.Option(
    Path("/var/log/airgap/store"), "--store", metavar="DIR", help="The store's root: STREAM/YYYY-MM-DD.log below it."
)
COMPRESS_OPT = typer.Option(
    "1", "--compress-after", metavar="DAYS", help="Compress a day's .log once it is this many days before today (UTC)."
)
RETENTION_OPT = typer.Option(
    "90", "--retention-days", metavar="DAYS", help="Delete days older than this, recorded as an event (0: keep all)."
)
MIN_FREE_OPT = typer.Option(
    "10", "--min-free", metavar="PERCENT", help="Below this much free on the store's file system, pause the collector."
)
RESUME_FREE_OPT = typer.Option(
    "15", "--resume-free", metavar="PERCENT", help="Start a paused collector again once this much is free."
)
UNIT_OPT = typer.Option(
    None, "--collector-unit", metavar="UNIT", help="A systemd unit of the collector, stopped while paused (repeatable)."
)
STATE_OPT = typer.Option(
    Path("/var/lib/airgap/logging"), "--state", metavar="DIR", help="Where the guard keeps its flag, guard.json."
)
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")
DRY_RUN_OPT = typer.Option(False, "--dry-run", help="Say what would be done; change nothing, emit no event.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="store")


@app.callback()
def store() -> None:
    """Keep the log store within its disk: compress closed days, expire old ones, pause the collector."""


@app.command()
def maintain(
    store: Path = STORE_OPT,
    compress_after: str = COMPRESS_OPT,
    retention_days: str = RETENTION_OPT,
    min_free: str = MIN_FREE_OPT,
    resume_free: str = RESUME_FREE_OPT,
    collector_unit: list[str] | None = UNIT_OPT,
    state: Path = STATE_OPT,
    as_json: bool = JSON_OPT,
    dry_run: bool = DRY_RUN_OPT,
) -> None:
    """Compress closed days, delete days past the retention, and pause the collector when the disk is low.

    Run as root by a timer every few minutes. Exit 30 while the collector is paused (too little free
    space: free some and the next run starts it again), 3 when a file or unit could not be handled,
    2 for a wrong option.
    """
    from airgapctl import logstore

    options = logstore.parse_options(
        store, compress_after, retention_days, min_free, resume_free, collector_unit or [], state, dry_run
    )
    result = logstore.maintain(options)
    problems = result.problems()
    for line in problems:
        progress(f"warning: {line}")
    if as_json:
        print_json(result)
    else:
        _print_text(result)
    guard = result.guard
    if guard.failed or guard.error:
        raise EnvironmentProblem(
            f"store guard: {problems[-1] if guard.error else _unit_problem(guard)}",
            hint="stop or start the collector by hand as needed; the next run tries again",
        )
    if guard.state == "paused" and not dry_run:
        raise CollectorPausedError(_paused_line(result))
    if problems:
        raise EnvironmentProblem(
            f"store maintain: {len(problems)} file(s) left as they were: {problems[0]}",
            hint="they are kept whole; the next run tries again",
        )


def _unit_problem(guard) -> str:
    first = guard.failed[0]
    what = "not stopped" if first.action == "stop" else "not started again"
    return f"{first.unit} {what} ({first.reason}); {guard.free_percent:g}% free on the store's file system"


def _paused_line(result) -> str:
    guard = result.guard
    since = f" since {guard.since}" if guard.since else ""
    stopped = f" ({', '.join(guard.units)} stopped)" if guard.units else " (no --collector-unit given: nothing stopped)"
    level = f"below --min-free {guard.min_free:g}%" if guard.free_percent < guard.min_free else "not yet --resume-free"
    then = "the next run starts it again" if guard.units else "the next run ends the pause"
    return (
        f"collector paused{since}{stopped}: the store {result.store} has {guard.free_percent:g}% free"
        f" ({format_size(guard.free_bytes)}), {level}; free space on its file system to"
        f" {guard.resume_free:g}% (--resume-free) and {then}"
    )


def _print_text(result) -> None:
    dry = result.dry_run
    for item in result.expired.files:
        verb = "would expire" if dry else "expired"
        print(f"{verb}  {item.path}  ({format_size(item.bytes)}, older than {result.expired.retention_days} days)")
    for path in result.compressed.temporaries:
        print(f"{'would remove' if dry else 'removed'}  {path}  (left by an interrupted run)")
    for item in result.compressed.files:
        if item.already:
            print(f"compressed  {item.source} -> {item.target}  (its lines were there already: the .log removed)")
        elif dry:
            print(f"would compress  {item.source} -> {item.target}  ({format_size(item.bytes_in)})")
        else:
            sizes = f"{format_size(item.bytes_in)} -> {format_size(item.bytes_out or 0)}"
            print(f"compressed  {item.source} -> {item.target}  ({sizes})")
    guard = result.guard
    if guard.changed and guard.state in ("paused", "resumed"):
        verb = {"paused": "stop", "resumed": "start"}[guard.state]
        units = f"{verb} {', '.join(guard.units)}" if guard.units else "no --collector-unit to " + verb
        print(f"{'would ' + guard.state[:-1] if dry else guard.state}: {guard.free_percent:g}% free, {units}")
    notes = [
        f"{len(result.compressed.files)} compressed",
        f"{len(result.expired.files)} expired ({format_size(result.expired.bytes)})",
    ]
    if result.compressed.skipped:
        notes.append(f"{len(result.compressed.skipped)} not closed yet")
    if result.unknown:
        notes.append(f"{len(result.unknown)} not named for a day, left alone")
    state = {"ok": "", "paused": ", collector paused", "resumed": ", collector resumed"}[guard.state]
    prefix = "dry run, nothing changed: " if dry else ""
    print(f"store {result.store}: {prefix}{', '.join(notes)}; {guard.free_percent:g}% free{state}")
