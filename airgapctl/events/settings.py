"""Where events go and how long emitting may wait: defaults, a small TOML file, the environment.

The environment wins over the file, the file over the defaults. ``AIRGAPCTL_EVENTS=off`` turns
emitting off (tests, a laptop without a collector); ``AIRGAPCTL_EVENTS_CONFIG`` names the file,
which is /etc/airgap/events.toml when that exists.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from airgapctl.errors import BadInputError

DEFAULT_CONFIG = Path("/etc/airgap/events.toml")
DEFAULT_COLLECTOR = "127.0.0.1:24224"
DEFAULT_SPOOL = Path("/var/lib/airgap/spool")

_ADDRESS = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s\[\]]+)):(?P<port>\d{1,5})$")
_SWITCH = {"on": True, "1": True, "true": True, "yes": True, "off": False, "0": False, "false": False, "no": False}
# The file's keys and the environment variable of each (the same setting either way).
ENVIRONMENT = {
    "enabled": "AIRGAPCTL_EVENTS",
    "collector": "AIRGAPCTL_EVENTS_COLLECTOR",
    "spool": "AIRGAPCTL_EVENTS_SPOOL",
    "host": "AIRGAPCTL_EVENTS_HOST",
    "connect_timeout": "AIRGAPCTL_EVENTS_CONNECT_TIMEOUT",
    "ack_timeout": "AIRGAPCTL_EVENTS_ACK_TIMEOUT",
    "retry_after": "AIRGAPCTL_EVENTS_RETRY_AFTER",
}


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    # HOST:PORT of a Forward-protocol receiver (Fluentd in_forward), or unix:///PATH.
    collector: str = DEFAULT_COLLECTOR
    spool: Path = DEFAULT_SPOOL
    host: str = field(default_factory=socket.gethostname)
    # Short: a command that emits must not wait on a collector that is not there.
    connect_timeout: float = 0.2
    ack_timeout: float = 1.0
    # After a failure, how long this process sends straight to the spool before trying again.
    retry_after: float = 30.0

    def __post_init__(self) -> None:
        collector_address(self.collector)

    @property
    def address(self) -> tuple[str, int]:
        return collector_address(self.collector)


def collector_address(text: str) -> tuple[str, int]:
    """(host, port) of HOST:PORT or [V6]:PORT; ("unix:///PATH", 0) of a socket path."""
    if text.startswith("unix:///"):
        return text, 0
    match = _ADDRESS.match(text)
    if not match or not 0 < int(match["port"]) < 65536:
        raise BadInputError(
            f"events collector {text!r} is not HOST:PORT or unix:///PATH",
            hint=f"for example {DEFAULT_COLLECTOR}, the collector's Forward input on loopback",
        )
    return match["v6"] or match["host"], int(match["port"])


def _value(key: str, raw: object, source: str) -> object:
    try:
        if key == "enabled":
            if isinstance(raw, bool):
                return raw
            return _SWITCH[str(raw).strip().lower()]
        if key in ("connect_timeout", "ack_timeout", "retry_after"):
            number = float(raw)  # type: ignore[arg-type]  # a string or number from the file or environment
            if not 0 <= number <= 3600:
                raise ValueError
            return number
        if key == "spool":
            return Path(str(raw))
        text = str(raw)
        if not text:
            raise ValueError
        return text
    except (KeyError, ValueError, TypeError):
        raise BadInputError(
            f"{source}: {key} {raw!r} is not a valid value",
            hint="see docs/events.md, Configuration",
        ) from None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in force: defaults, then the config file, then the environment."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    config = Path(env["AIRGAPCTL_EVENTS_CONFIG"]) if env.get("AIRGAPCTL_EVENTS_CONFIG") else DEFAULT_CONFIG
    if env.get("AIRGAPCTL_EVENTS_CONFIG") or config.exists():
        try:
            document = tomllib.loads(config.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise BadInputError(f"events config {config}: {reason}", hint="see docs/events.md, Configuration") from None
        unknown = sorted(set(document) - set(ENVIRONMENT))
        if unknown:
            raise BadInputError(
                f"events config {config}: unknown key {unknown[0]!r}",
                hint=f"the keys are {', '.join(ENVIRONMENT)}",
            )
        values.update({key: _value(key, raw, str(config)) for key, raw in document.items()})
    for key, variable in ENVIRONMENT.items():
        if env.get(variable):
            values[key] = _value(key, env[variable], variable)
    return replace(Settings(), **values)  # type: ignore[arg-type]  # checked by _value
