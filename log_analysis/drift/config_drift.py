"""config_drift: the deployed gateway configuration differs from what the current policy renders to.

What is compared: every file ``airgapctl gateway render`` writes (nginx.conf, gateway/*.conf and
gateway/headers.js),
rendered here from the policy with the render options the deployed nginx.conf records (its
server names, CRL, worker user ...; the defaults when it records none), against the same files in the
deployed directory; plus any other *.conf file there (extra). Ignored: the leading
``ansible_managed`` comment block, and the arguments of directives that carry per-host choices
this audit cannot know (listen address, certificate and key paths, log, pid and temp paths,
worker_processes, user, root, and absolute include paths such as credential files): those are
compared by directive name only. Sunsets are decided as of today, as a render today would.

With ``--drift FILE`` (a report of ``airgapctl drift --out``), also one finding per host and task
the site playbook would change there (log_analysis.drift.drift_report): drift in what Ansible
manages on each appliance, found by a check-mode run. That part needs no policy and no deployed
configuration.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from airgapctl.errors import AirgapError
from log_analysis.context import AuditContext
from log_analysis.detectors.base import Detector, Parameters
from log_analysis.model import Finding, Severity, Subject

PARAMETERS: Parameters = {}
HOST_SPECIFIC = (
    "listen",
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_client_certificate",
    "proxy_ssl_trusted_certificate",
    "pid",
    "error_log",
    "access_log",
    "worker_processes",
    "user",
    "root",
    "client_body_temp_path",
    "proxy_temp_path",
    "fastcgi_temp_path",
    "uwsgi_temp_path",
    "scgi_temp_path",
)
_DIRECTIVE = re.compile(r"^(\s*)(" + "|".join(HOST_SPECIFIC) + r")\s+[^;]*;", re.MULTILINE)
_ABSOLUTE_INCLUDE = re.compile(r"^(\s*include\s+)/\S*/([^/\s;]+;)", re.MULTILINE)
_SKIPPED_DIRS = {"logs", "tmp"}


def normalise(text: str) -> list[str]:
    """The lines that must agree: managed header dropped, per-host values masked."""
    lines = text.splitlines()
    mark = lines[0].strip() if lines else ""
    if mark in ("#", "//"):  # NGINX's comments, and gateway/headers.js's
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == mark), 0)
        lines = lines[closing + 1 :]
    body = "\n".join(lines)
    body = _DIRECTIVE.sub(r"\1\2 <per-host>;", body)
    body = _ABSOLUTE_INCLUDE.sub(r"\1<per-host>/\2", body)
    return [line.rstrip() for line in body.splitlines()]


def compare(deployed: Path, rendered: dict[str, str]) -> dict[str, list]:
    changed, missing = [], []
    for name, text in sorted(rendered.items()):
        target = deployed / name
        if not target.is_file():
            missing.append(name)
            continue
        expected, actual = normalise(text), normalise(target.read_text(encoding="utf-8", errors="replace"))
        if expected != actual:
            diff = list(
                difflib.unified_diff(expected, actual, "rendered/" + name, "deployed/" + name, n=0, lineterm="")
            )
            changed.append({"file": name, "diff": diff[:20], "diff_lines": len(diff)})
    return {"changed": changed, "missing": missing, "extra": _extra(deployed, rendered)}


def _extra(deployed: Path, rendered: dict[str, str]) -> list[str]:
    """Other *.conf files NGINX could include (logs/, tmp/ and hidden directories left out)."""
    extra = []
    for path in deployed.rglob("*.conf"):
        relative = path.relative_to(deployed)
        hidden = any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts[:-1])
        if path.is_file() and not hidden and str(relative) not in rendered:
            extra.append(str(relative))
    return sorted(extra)


def _recorded_options(directory: Path) -> dict | None:
    from airgapctl.gateway.recorded_options import recorded

    try:
        return recorded((directory / "nginx.conf").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def detect(ctx: AuditContext, params: Parameters) -> list[Finding]:
    from log_analysis.drift.drift_report import drift_findings

    return drift_findings(ctx) + _compare_rendered(ctx)


def _compare_rendered(ctx: AuditContext) -> list[Finding]:
    config = ctx.gateway_config
    if config is None or ctx.policy is None:  # only a drift report was given
        return []
    from log_analysis.drift.rendered import rendered_config

    assert ctx.policy is not None
    options = _recorded_options(config.directory)
    if options is None:
        ctx.notes.append(
            f"config_drift: {config.directory}/nginx.conf records no render options; compared with the defaults"
        )
    try:
        rendered = rendered_config(ctx.policy, ctx.state_dir, ctx.may_write_state, options)
    except AirgapError as error:
        ctx.notes.append(f"config_drift: not checked, the policy does not render: {error.message}")
        return []
    result = compare(config.directory, rendered)
    if not any(result.values()):
        return []
    parts = [f"{len(result[k])} {k}" for k in ("changed", "missing", "extra") if result[k]]
    return [
        Finding(
            detector="config_drift",
            severity=Severity.HIGH,
            subject=Subject(),
            start=ctx.window_start,
            end=ctx.window_end,
            score=float(sum(len(v) for v in result.values())),
            message=f"the gateway configuration in {config.directory} differs from what the policy renders to: "
            + ", ".join(parts)
            + " file(s)",
            evidence={
                "directory": str(config.directory),
                **result,
                "compared": sorted(rendered),
                "ignored_directives": list(HOST_SPECIFIC),
            },
        )
    ]


DETECTOR = Detector(
    id="config_drift",
    severity=Severity.HIGH,
    description="The deployed gateway configuration differs from what the current policy renders to.",
    statistic="file-by-file comparison with the rendered templates, per-host values masked; with --drift, "
    "each task a check-mode run of the site playbook would change",
    parameters=PARAMETERS,
    needs_baseline=False,
    detect=detect,
    needs_policy=True,
)
