"""Parse spec files (YAML or JSON) into the JSON data model OpenAPI is written in.

PyYAML's loaders build a node graph and then Python objects from it; on a 1.4 MB spec that
takes 1.5 s. We build the objects straight from libyaml's event stream instead (4x faster),
resolving plain scalars with the safe loader's own rules, so values are what
``yaml.safe_load`` gives, except where OpenAPI needs JSON: mapping keys keep their text
(``200:`` is the response code "200") and dates stay strings.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from yaml import events

from airgapctl.specs.model import SpecIssue

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _MERGE = (_TAG + name for name in ("str", "null", "bool", "int", "float", "merge"))
_WILDCARD = _Loader.yaml_implicit_resolvers.get(None, [])
# The safe loader's implicit resolvers by first character, minus timestamps: dates stay strings.
_IMPLICIT = {
    first: [(tag, regex) for tag, regex in [*resolvers, *_WILDCARD] if tag != _TAG + "timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
    if first is not None
}


class DocumentError(Exception):
    """A file that cannot be read or parsed; ``issue`` says where and why."""

    def __init__(self, issue: SpecIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue


class _Unsupported(Exception):
    """YAML that has no JSON equivalent; carries the event where it was found."""

    def __init__(self, message: str, event: Any) -> None:
        super().__init__(message)
        self.event = event


def parse_document(data: bytes, display: str) -> Any:
    """Parse by content: JSON (valid YAML, but json is 10x faster) when it looks like it, else YAML.

    Errors carry the line; a ``.json`` file is held to JSON.
    """
    if display.lower().endswith(".json") or data.lstrip()[:1] == b"{":
        try:
            return json.loads(data)
        except json.JSONDecodeError as error:
            if display.lower().endswith(".json"):
                where = f"line {error.lineno}, column {error.colno}"
                raise DocumentError(
                    SpecIssue(display, "", f"malformed JSON at {where}: {error.msg}", kind="document")
                ) from None
        except UnicodeDecodeError as error:
            raise DocumentError(SpecIssue(display, "", f"not UTF-8 text ({error.reason})", kind="document")) from None
    try:
        with collector_paused():
            return _YamlBuilder(data).build()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise DocumentError(
            SpecIssue(display, "", f"malformed YAML at {_where(mark)}: {error.problem}", kind="document")
        ) from None
    except _Unsupported as error:
        raise DocumentError(
            SpecIssue(display, "", f"{error} at {_where(error.event.start_mark)}", kind="document")
        ) from None
    except (yaml.YAMLError, ValueError) as error:
        raise DocumentError(SpecIssue(display, "", f"malformed YAML: {error}", kind="document")) from None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector while documents are built and read.

    Parsed documents and what the loader makes of them hold no reference cycles, yet building
    them triggers the collector again and again over every object built so far: up to a third
    of the load time of a 4 MB spec.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "an unknown line"


class _YamlBuilder:
    """Objects from events: a stack of open containers, each with the key waiting for its value."""

    def __init__(self, data: bytes) -> None:
        self.loader = _Loader(data)
        self.anchors: dict[str, Any] = {}
        self.open: list[list[Any]] = []  # [container, pending key, anchor, merges]
        self.documents: list[Any] = []
        loader = self.loader
        self.convert = {
            _BOOL: loader.construct_yaml_bool,
            _INT: loader.construct_yaml_int,
            _FLOAT: loader.construct_yaml_float,
        }

    def build(self) -> Any:
        try:
            while True:
                event = self.loader.get_event()
                kind = event.__class__
                if kind is events.ScalarEvent:
                    if not self._fast_scalar(event):
                        self._add(self._scalar(event), event)
                elif kind is events.MappingStartEvent or kind is events.SequenceStartEvent:
                    self._start(event, {} if kind is events.MappingStartEvent else [])
                elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
                    self._end(event)
                elif kind is events.AliasEvent:
                    self._alias(event)
                elif kind is events.StreamEndEvent:
                    break
        finally:
            self.loader.dispose()
        if len(self.documents) > 1:
            raise ValueError("expected a single document in the stream, found several")
        return self.documents[0] if self.documents else None

    def _fast_scalar(self, event: Any) -> bool:
        """Place a plain key or unanchored value directly (most events); False leaves it to _add."""
        frame = self.open[-1] if self.open else None
        if frame is None or event.anchor is not None or event.value == "<<":
            return False
        container, key = frame[0], frame[1]
        if container.__class__ is list:
            container.append(self._scalar(event))
        elif key is _NoKey:
            frame[1] = event.value  # the key as written
        elif key is not _MergeKey:
            container[key] = self._scalar(event)
            frame[1] = _NoKey
        else:
            return False
        return True

    def _scalar(self, event: Any) -> Any:
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return value  # quoted: always a string
            tag = self._resolve(value)
        if tag == _STR:
            return value
        if tag == _NULL:
            return None
        if tag in self.convert:
            return self.convert[tag](yaml.ScalarNode(tag, value))
        if tag == _MERGE:
            return _MergeKey
        raise _Unsupported(f"unsupported YAML tag {tag}", event)

    @staticmethod
    def _resolve(value: str) -> str:
        for tag, regex in _IMPLICIT.get(value[0] if value else "", _WILDCARD):
            if regex.match(value):
                return tag
        return _STR

    def _start(self, event: Any, container: Any) -> None:
        if event.tag not in (None, "!", _TAG + "map", _TAG + "seq"):
            raise _Unsupported(f"unsupported YAML tag {event.tag}", event)
        self.open.append([container, _NoKey, event.anchor, []])

    def _end(self, event: Any) -> None:
        container, _, anchor, merges = self.open.pop()
        if merges:  # explicit keys win over merged ones, earlier merges over later ones
            merged: dict[str, Any] = {}
            for source in merges:
                for key, value in source.items():
                    merged.setdefault(key, value)
            merged.update(container)
            container = merged
        if anchor is not None:
            self.anchors[anchor] = container
        self._add(container, event, anchored=True)

    def _alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise _Unsupported(f"undefined or recursive YAML alias *{event.anchor}", event)
        self._add(self.anchors[event.anchor], event, anchored=True)

    def _add(self, value: Any, event: Any, anchored: bool = False) -> None:
        if not anchored and getattr(event, "anchor", None) is not None:
            self.anchors[event.anchor] = value
        frame = self.open[-1] if self.open else None
        if frame is None or frame[0].__class__ is list or frame[1] is not _NoKey:
            value = "<<" if value is _MergeKey else value  # `<<` means merge only as a key
        if frame is None:
            self.documents.append(value)
            return
        container, key = frame[0], frame[1]
        if container.__class__ is list:
            container.append(value)
        elif key is _NoKey:
            frame[1] = self._key(value, event)
        elif key is _MergeKey:
            frame[3] += _merge_sources(value, event)
            frame[1] = _NoKey
        else:
            container[key] = value
            frame[1] = _NoKey

    def _key(self, value: Any, event: Any) -> Any:
        if event.__class__ is events.ScalarEvent:
            return _MergeKey if value is _MergeKey else event.value  # the key as written
        if isinstance(value, str):
            return value  # an alias of a string
        raise _Unsupported("unsupported YAML mapping key (only scalars can be JSON keys)", event)


class _NoKey:
    """The mapping waits for a key."""


class _MergeKey:
    """The ``<<`` key: the value's mappings are merged in."""


def _merge_sources(value: Any, event: Any) -> list[dict[str, Any]]:
    sources = value if isinstance(value, list) else [value]
    if not all(isinstance(source, dict) for source in sources):
        raise _Unsupported("a YAML merge key (<<) takes a mapping or a list of mappings", event)
    return sources
