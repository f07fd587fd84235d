"""The render options a gateway was rendered with, recorded in its nginx.conf.

The audit's config_drift renders the policy again and compares: without the options the deployed
gateway was rendered with (its server names, CRL, worker user ...) every per-host choice would
look like drift. They are not secret (names and paths), so nginx.conf carries them on one comment
line, and a change of options changes the file like any other rendering change.
"""

from __future__ import annotations

import json
from typing import Any

MARK = "# Render options (the audit renders the policy again with them): "
# The RenderOptions fields that shape the files; the day and the tool's own paths are the audit's.
RECORDED = (
    "listen", "server_names", "server_cert", "server_key", "client_ca", "client_crl", "access_log",
    "access_log_buffer", "error_log", "pid_file", "temp_dir", "credentials_dir", "worker_processes", "user",
    "upstream_ca_bundle",
)  # fmt: skip


def record(options: Any) -> str:
    """The comment line's JSON (one line: json escapes every control character)."""
    values = {name: getattr(options, name) for name in RECORDED}
    values["server_names"] = list(values["server_names"])
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def recorded(nginx_conf: str) -> dict[str, Any] | None:
    """The options recorded in a deployed nginx.conf; None when it has none that read back."""
    for line in nginx_conf.splitlines():
        if line.startswith(MARK):
            try:
                values = json.loads(line[len(MARK) :])
            except ValueError:
                return None
            if not isinstance(values, dict) or set(values) != set(RECORDED):
                return None
            values["server_names"] = tuple(values["server_names"])
            return values
    return None
