"""A run's progress on stderr: one line per play, task and host result, from safe records only.

Piped (CI, a log), every line stays. On a terminal a host's ok or skipped result is drawn over
the previous such line, so a long play shows its changes and failures, not every unchanged task.
"""

from __future__ import annotations

from typing import Any, TextIO

from airgapctl.progress import _columns, _is_terminal
from airgapctl.provision import safe_event
from airgapctl.provision.tally import HostProgress

PREFIX = "provision: "
DRIFT_PREFIX = "drift: "


class Display:
    def __init__(self, stream: TextIO, prefix: str = PREFIX) -> None:
        self.stream = stream
        self.prefix = prefix
        self.interactive = _is_terminal(stream)
        self.shown = 0  # the length of the transient line on the terminal, 0: none
        self.stopped = False  # Ansible says so twice when a batch fails

    def show(self, record: dict[str, Any], host: HostProgress | None) -> None:
        """The line for one safe record (with its host's progress when it is a result)."""
        kind = record["event"]
        if kind == safe_event.PLAY_START:
            self.stopped = False
            self.line(f"play {record['play']}")
        elif kind == safe_event.TASK_START:
            self.line(f"task {record['task']}")
        elif kind == "playbook_on_no_hosts_remaining":
            if not self.stopped:
                self.line("no hosts remaining: the roll-out stopped")
            self.stopped = True
        elif kind == "playbook_on_no_hosts_matched":
            self.line("no hosts matched")
        elif host is not None:
            outcome = safe_event.RESULTS[kind]
            if outcome == "failed" and record["ignored"]:
                outcome = "failed (ignored)"
            elif outcome == "ok" and record["changed"]:
                outcome = "changed"
            counts = f"{host.done} done, {host.changed} changed, {host.failed} failed"
            shown = outcome.upper() if outcome in ("failed", "unreachable") else outcome
            self.line(f"  {record['host']}: {shown} ({counts})", transient=outcome in ("ok", "skipped"))
            if record.get("message"):
                self.line(f"    {record['message']}")

    def line(self, text: str, transient: bool = False) -> None:
        text = self.prefix + text
        if not self.interactive:
            self.stream.write(text + "\n")
        else:
            if transient:  # a line that wraps cannot be drawn over with \r
                text = text[: _columns(self.stream) - 1]
            self.stream.write("\r" + text.ljust(self.shown) + ("" if transient else "\n"))
            self.shown = len(text) if transient else 0
        self.stream.flush()

    def close(self) -> None:
        """End the transient line, so what follows starts on a line of its own."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = 0
