"""What the current policy renders to, kept in --state between runs.

config_drift compares the deployed configuration with a fresh rendering of the policy; rendering
compiles every template, which costs a daily run more than reading a day's new lines. The
rendering is kept beside the baseline under a key of everything it depends on: the policy, the
render options, which of its operations have passed their sunset today, the gateway's templates
and rendering code, and airgapctl's version. Any change of those renders afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import airgapctl
from log_analysis.baseline.store import write_state_file

RENDERED_FILE = "rendered.json"
GATEWAY_CODE = Path(airgapctl.__file__).parent / "gateway"  # the renderer's code and templates


def rendered_config(
    policy: dict[str, Any], state_dir: Path | None, may_write: bool, options: dict[str, Any] | None = None
) -> dict[str, str]:
    """File name -> text, as ``airgapctl gateway render`` would write them today with ``options``
    (the recorded ones of the deployed gateway; None: the defaults)."""
    from airgapctl.gateway.model import lifecycle_state

    today = dt.date.today()
    key = _key(policy, [lifecycle_state(op, today) for op in policy["operations"]], GATEWAY_CODE, options)
    path = state_dir / RENDERED_FILE if state_dir is not None else None
    if path is not None and path.exists():
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            if kept.get("key") == key:
                return dict(kept["files"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # rendered afresh, and written again below
    # Only now: the renderer brings in Jinja, which a run whose rendering is kept never needs.
    import airgapctl.gateway.render as render

    files = render.render_templates(
        render.template_variables(policy, render.RenderOptions(**(options or {}), now=today))
    )
    if path is not None and may_write:
        write_state_file(path, {"key": key, "files": files})
    return files


def _key(policy: dict[str, Any], states: list[str], gateway_code: Path, options: dict[str, Any] | None) -> str:
    digest = hashlib.sha256(airgapctl.__version__.encode())
    digest.update(json.dumps(options, sort_keys=True, default=list).encode())
    digest.update(json.dumps(policy, sort_keys=True, separators=(",", ":")).encode())
    digest.update(",".join(states).encode())
    for source in sorted(p for p in gateway_code.rglob("*") if p.is_file() and p.suffix in (".py", ".j2")):
        digest.update(str(source.relative_to(gateway_code)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()
