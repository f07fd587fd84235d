"""A structural check of the logging role's Fluentd configuration, without Fluentd.

Fluentd's own dry run says whether it can load a configuration; this says whether the loaded one does
what the appliance's store relies on: the gateway's JSON access log tailed with its own timestamp kept,
airgapctl's events taken in on loopback only, both streams written by out_file as JSON lines into one
file per day under the store, buffers and read positions outside it, nothing included from elsewhere.

It reads Fluentd's configuration format (<section arg> ... </section>, ``key value`` directives,
comments on lines of their own; a value spanning lines is not supported) into a small tree, and
routes a tag through the top-level <match> sections (and <label>s reached by @label or relabel) as
Fluentd does, first match wins.

    python fluentd_check.py CONFIG --store DIR --gateway-log PATH --port N [--state DIR] [--compress gzip|text]

Exit 0 when the configuration holds, 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

# The access log's time field and a value as NGINX writes it ($time_iso8601; airgapctl/contracts/access_log.py).
TIME_FIELD = "time"
TIME_SAMPLE = ("2026-03-02T08:00:00+01:00", datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
EVENT_TAGS = ("airgap.bundle.verify", "airgap.audit.run")  # docs/events.md
OTHER_TAG = "not_airgap.something"  # a tag neither stream claims
NETWORK_INPUTS = {"forward", "http", "tcp", "udp", "syslog", "monitor_agent", "debug_agent"}
MAX_FLUSH_SECONDS = 10


class ConfigSyntaxError(ValueError):
    pass


@dataclass
class Section:
    name: str
    arg: str = ""
    line: int = 0
    params: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # the line of each parameter
    children: list[Section] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    def sections(self, name: str) -> list[Section]:
        return [child for child in self.children if child.name == name]

    def first(self, name: str) -> Section | None:
        found = self.sections(name)
        return found[0] if found else None

    def walk(self) -> Iterator[Section]:
        yield self
        for child in self.children:
            yield from child.walk()

    def where(self, key: str | None = None) -> int:
        return self.lines.get(key, self.line) if key else self.line

    def title(self) -> str:
        return f"<{self.name}{' ' + self.arg if self.arg else ''}>"


_OPEN = re.compile(r"<\s*([A-Za-z0-9_]+)(?:\s+(.*?))?\s*>$")
_CLOSE = re.compile(r"</\s*([A-Za-z0-9_]+)\s*>$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", '"': '"', "\\": "\\"}


def _value(text: str, number: int) -> str:
    """A directive's value: quoted as Fluentd quotes, or the rest of the line (where '#' is text)."""
    if not text.startswith(("'", '"')):
        return text.rstrip()
    quote, out, i = text[0], [], 1
    while i < len(text):
        char = text[i]
        if char == quote:
            rest = text[i + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise ConfigSyntaxError(f"line {number}: text after the quoted value: {rest!r}")
            return "".join(out)
        if char == "\\" and quote == '"' and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
            continue
        out.append(char)
        i += 1
    raise ConfigSyntaxError(f"line {number}: unterminated {quote} string")


def parse(text: str) -> Section:
    """The configuration as a tree under a section named ROOT."""
    root = Section("ROOT")
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if closing := _CLOSE.match(line):
            if len(stack) == 1 or stack[-1].name != closing[1]:
                raise ConfigSyntaxError(f"line {number}: </{closing[1]}> closes nothing open ({stack[-1].title()})")
            stack.pop()
            continue
        if line.startswith("<"):
            opening = _OPEN.match(line)
            if not opening:
                raise ConfigSyntaxError(f"line {number}: not a section tag: {line!r}")
            section = Section(opening[1], (opening[2] or "").strip(), number)
            stack[-1].children.append(section)
            stack.append(section)
            continue
        key, _, rest = line.partition(" ") if " " in line else line.partition("\t")
        stack[-1].params[key] = _value(rest.strip(), number)
        stack[-1].lines[key] = number
    if len(stack) > 1:
        raise ConfigSyntaxError(f"line {stack[-1].line}: {stack[-1].title()} is never closed")
    return root


def glob_regex(pattern: str) -> re.Pattern[str]:
    """One <match> pattern as Fluentd's GlobMatchPattern compiles it (*, **, {a,b}, /regex/)."""
    if pattern.startswith("/") and pattern.endswith("/") and len(pattern) > 1:
        return re.compile(r"\A" + pattern[1:-1] + r"\Z")
    regex: list[str] = [""]
    stack: list[list[str]] = []
    dot = escape = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if escape:
            regex[-1] += re.escape(char)
            escape = False
            i += 1
            continue
        if pattern[i : i + 2] == "**":
            if dot:
                regex[-1] += r"(?![^\.])"
                dot = False
            if pattern[i + 2 : i + 3] == ".":
                regex[-1] += r"(?:.*\.|\A)"
                i += 3
            else:
                regex[-1] += ".*"
                i += 2
            continue
        if dot:
            regex[-1] += r"\."
            dot = False
        if char == "\\":
            escape = True
        elif char == ".":
            dot = True
        elif char == "*":
            regex[-1] += r"[^\.]*"
        elif char == "{":
            stack.append([])
            regex.append("")
        elif char == "}" and stack:
            stack[-1].append(regex.pop())
            regex[-1] += "(?:" + "|".join(stack.pop()) + ")"
        elif char == "," and stack:
            stack[-1].append(regex.pop())
            regex.append("")
        elif re.match(r"[A-Za-z0-9_]", char):
            regex[-1] += char
        else:
            regex[-1] += "\\" + char
        i += 1
    while stack:
        stack[-1].append(regex.pop())
        regex[-1] += "(?:" + "|".join(stack.pop()) + ")"
    return re.compile(r"\A" + regex[-1] + r"\Z")


def matches(section: Section, tag: str) -> bool:
    return any(glob_regex(pattern).match(tag) for pattern in section.arg.split())


def route(root: Section, tag: str, label: str | None = None, seen: tuple[str, ...] = ()) -> Section | None:
    """The <match> that takes ``tag``, emitted at the top level or into ``label``; None if none does."""
    if label in seen:
        return None
    container = root if label is None else next((s for s in root.sections("label") if s.arg == label), None)
    if container is None:
        return None
    for match in container.sections("match"):
        if matches(match, tag):
            if match.get("@type") == "relabel":
                return route(root, tag, match.get("@label"), (*seen, str(label)))
            return match
    return None


def seconds(text: str | None) -> float | None:
    """A Fluentd time value (5, 5s, 1m, 1h, 1d) in seconds; None if it is none."""
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text or "")
    if not found:
        return None
    return float(found[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found[2]]


def truthy(section: Section, key: str) -> bool:
    return section.get(key) in ("", "true", "yes")  # Fluentd takes a bool given without a value as true


def under(path: str, directory: str) -> bool:
    path_, dir_ = PurePosixPath(path), PurePosixPath(directory)
    return path_ == dir_ or dir_ in path_.parents


@dataclass(frozen=True)
class Expect:
    store: str
    gateway_log: str
    port: int
    state: str | None = None
    compress: str | None = None  # gzip or text; None: either


class Checker:
    def __init__(self, root: Section, expect: Expect) -> None:
        self.root, self.expect = root, expect
        self.problems: list[str] = []
        self.checked: set[int] = set()  # the outputs already checked

    def problem(self, line: int, text: str) -> None:
        """One problem, on ``line`` of the file (0: of the configuration as a whole)."""
        self.problems.append(f"line {line}: {text}" if line else text)

    def run(self) -> list[str]:
        for section in self.root.walk():
            for key in ("@include", "include"):
                if key in section.params:
                    self.problem(section.where(key), f"{key} {section.params[key]}: the configuration must be whole")
        self.network_inputs()
        tail = self.tail()
        forward = self.forward()
        if tail:
            self.stream_output(tail, [tail.get("tag") or ""], "gateway")
        if forward:
            self.stream_output(forward, list(EVENT_TAGS), "events")
        self.other_tags(tail, forward)
        self.buffers(tail)
        return self.problems

    def network_inputs(self) -> None:
        for source in self.root.sections("source"):
            if source.get("@type") in NETWORK_INPUTS and source.get("bind") != "127.0.0.1":
                bind = source.get("bind")
                said = f"bind {bind}" if bind is not None else "no bind (Fluentd listens on 0.0.0.0)"
                self.problem(
                    source.where("bind"), f"{source.title()} @type {source.get('@type')}: {said}, not 127.0.0.1"
                )

    def tail(self) -> Section | None:
        tails = [s for s in self.root.sections("source") if s.get("@type") == "tail"]
        mine = [s for s in tails if self.expect.gateway_log in [p.strip() for p in (s.get("path") or "").split(",")]]
        if len(mine) != 1:
            self.problem(0, f"{len(mine)} <source> @type tail sections read {self.expect.gateway_log}; one must")
            return None
        tail = mine[0]
        pos = tail.get("pos_file")
        if not pos:
            self.problem(tail.line, "the gateway log's <source> has no pos_file: a restart would lose or repeat lines")
        elif under(pos, self.expect.store):
            self.problem(tail.where("pos_file"), f"pos_file {pos} is inside the store {self.expect.store}")
        elif self.expect.state and not under(pos, self.expect.state):
            self.problem(tail.where("pos_file"), f"pos_file {pos} is not under the state directory {self.expect.state}")
        if not truthy(tail, "follow_inodes"):
            self.problem(tail.line, "the gateway log's <source> lacks follow_inodes true (logrotate renames the log)")
        tag = tail.get("tag") or ""
        if not tag or glob_regex("airgap.**").match(tag):
            self.problem(
                tail.where("tag"), f"tag {tag!r}: the gateway's lines need a tag of their own, not under airgap."
            )
        self.time_parse(tail)
        return tail

    def time_parse(self, tail: Section) -> None:
        parse_ = tail.first("parse")
        if parse_ is None:
            self.problem(tail.line, "the gateway log's <source> has no <parse>")
            return
        if parse_.get("@type") != "json":
            self.problem(parse_.where("@type"), f"<parse> @type {parse_.get('@type')}, not json")
        if parse_.get("time_key") != TIME_FIELD:
            self.problem(parse_.where("time_key"), f"<parse> time_key {parse_.get('time_key')}, not {TIME_FIELD}")
        if parse_.get("time_type") != "string":
            self.problem(parse_.where("time_type"), f"<parse> time_type {parse_.get('time_type')}, not string")
        fmt = parse_.get("time_format") or ""
        sample, wanted = TIME_SAMPLE
        try:
            parsed = datetime.strptime(sample, fmt)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or parsed != wanted:
            self.problem(parse_.where("time_format"), f"<parse> time_format {fmt!r} does not read NGINX's {sample}")
        if not truthy(parse_, "keep_time_key"):
            self.problem(parse_.line, "<parse> lacks keep_time_key true: the stored line would lose its time field")

    def forward(self) -> Section | None:
        forwards = [s for s in self.root.sections("source") if s.get("@type") == "forward"]
        if len(forwards) != 1:
            self.problem(0, f"{len(forwards)} <source> @type forward sections; one must take the events")
            return None
        forward = forwards[0]
        if forward.get("port") != str(self.expect.port):
            self.problem(
                forward.where("port"), f"<source> @type forward: port {forward.get('port')}, not {self.expect.port}"
            )
        return forward

    def stream_output(self, source: Section, tags: list[str], stream: str) -> None:
        for tag in tags:
            match = route(self.root, tag, source.get("@label"))
            if match is None:
                self.problem(source.line, f"tag {tag}: no <match> takes it")
                continue
            self.file_output(match, stream)

    def file_output(self, match: Section, stream: str, inject: bool = False) -> None:
        if id(match) in self.checked:
            return
        self.checked.add(id(match))
        if match.get("@type") != "file":
            self.problem(match.where("@type"), f"{match.title()} @type {match.get('@type')}, not file")
            return
        directory = f"{self.expect.store.rstrip('/')}/{stream}"
        path = match.get("path") or ""
        if path != f"{directory}/%Y-%m-%d":
            self.problem(match.where("path"), f"{match.title()} path {path}, not {directory}/%Y-%m-%d (one file a day)")
        for key, value in (("add_path_suffix", "true"), ("path_suffix", ".log")):
            if match.get(key, value) != value:
                self.problem(match.where(key), f"{match.title()} {key} {match.get(key)}: the files must end .log")
        if not truthy(match, "append"):
            self.problem(match.where("append"), f"{match.title()} lacks append true: a file per flush, not per day")
        compress = match.get("compress", "text")
        if compress not in ("gzip", "text") or (self.expect.compress and compress != self.expect.compress):
            self.problem(
                match.where("compress"),
                f"{match.title()} compress {compress}, not {self.expect.compress or 'gzip or text'}",
            )
        formats = match.sections("format")
        if len(formats) != 1 or formats[0].get("@type") != "json":
            self.problem(match.line, f"{match.title()} needs <format> @type json: records stored as JSON lines")
        if match.sections("inject") and not inject:
            self.problem(
                match.first("inject").line, f"{match.title()} injects into records that hold their own tag and time"
            )
        buffer = match.first("buffer")
        if buffer is None:
            self.problem(
                match.line, f"{match.title()} has no <buffer>: out_file would buffer in memory, lost on a crash"
            )
            return
        if "time" not in [key.strip() for key in buffer.arg.split(",")]:
            self.problem(buffer.line, f"{match.title()} <buffer {buffer.arg}>: the chunk keys lack time (a file a day)")
        if seconds(buffer.get("timekey")) != 86400:
            self.problem(buffer.where("timekey"), f"{match.title()} <buffer> timekey {buffer.get('timekey')}, not 1d")
        interval = seconds(buffer.get("flush_interval"))
        if buffer.get("flush_mode") != "interval" or interval is None or interval > MAX_FLUSH_SECONDS:
            self.problem(buffer.where("flush_interval"),
                         f"{match.title()} <buffer>: flush_mode {buffer.get('flush_mode')} flush_interval "
                         f"{buffer.get('flush_interval')}; wanted interval, at most {MAX_FLUSH_SECONDS}s")  # fmt: skip
        if buffer.get("@type") != "file":
            self.problem(buffer.where("@type"), f"{match.title()} <buffer> @type {buffer.get('@type')}, not file")

    def other_tags(self, tail: Section | None, forward: Section | None) -> None:
        """A record under a tag no stream claims: kept somewhere (or thrown away on purpose), never unrouted."""
        for source in (tail, forward):
            if source is None:
                continue
            match = route(self.root, OTHER_TAG, source.get("@label"))
            if match is None:
                self.problem(source.line, f"a record tagged {OTHER_TAG} from {source.title()} @type "
                                          f"{source.get('@type')} matches no <match>: dropped")  # fmt: skip
            elif match.get("@type") == "file":
                self.file_output(match, "misc", inject=True)

    def buffers(self, tail: Section | None) -> None:
        seen: dict[str, int] = {}
        if tail is not None and tail.get("pos_file"):
            seen[str(PurePosixPath(tail.get("pos_file") or ""))] = tail.where("pos_file")
        for section in self.root.walk():
            if section.name != "buffer" or section.get("@type", "file") != "file":
                continue
            path = section.get("path")
            if not path:
                self.problem(section.line, "<buffer> @type file without a path")
                continue
            if under(path, self.expect.store):
                self.problem(section.where("path"), f"<buffer> path {path} is inside the store {self.expect.store}")
            elif self.expect.state and not under(path, self.expect.state):
                self.problem(
                    section.where("path"), f"<buffer> path {path} is not under the state directory {self.expect.state}"
                )
            key = str(PurePosixPath(path))
            if key in seen:
                self.problem(section.where("path"), f"<buffer> path {path} is also used on line {seen[key]}")
            seen.setdefault(key, section.where("path"))


def check(text: str, store: str, gateway_log: str, port: int, *, state: str | None = None,
          compress: str | None = None) -> list[str]:  # fmt: skip
    """The problems found in the configuration ``text`` (empty when it holds)."""
    try:
        root = parse(text)
    except ConfigSyntaxError as error:
        return [str(error)]
    return Checker(root, Expect(store, gateway_log, port, state, compress)).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--store", required=True, help="the store's root directory")
    parser.add_argument("--gateway-log", required=True, help="the gateway's JSON access log")
    parser.add_argument("--port", required=True, type=int, help="the events' Forward port on 127.0.0.1")
    parser.add_argument("--state", help="the collector's state directory: positions and buffers below it")
    parser.add_argument("--compress", choices=("gzip", "text"), help="how out_file must write (default: either)")
    args = parser.parse_args(argv)
    try:
        text = args.config.read_text()
    except OSError as error:
        print(f"{args.config}: {error.strerror}", file=sys.stderr)
        return 1
    problems = check(text, args.store, args.gateway_log, args.port, state=args.state, compress=args.compress)
    for problem in problems:
        print(f"{args.config}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
