"""Self-test a rendered prefix directory with ``nginx -t`` and swap it in only when NGINX accepts it."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from airgapctl.errors import AirgapError, EnvironmentProblem

# State that belongs to the live directory, not to one configuration: the running gateway's pid
# file and open logs stay where they are when a new configuration replaces the old one.
LIVE_STATE = ("logs",)
_SEVERE = ("[emerg]", "[alert]", "[crit]", "[error]")
# "nginx: " or "2026/01/02 03:04:05 " before the level, "123#123: " after it: noise in a one-line error.
_NOISE = re.compile(r"^(?:nginx: )?(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?(\[\w+\]) (?:\d+#\d+: )?")
_TEST_TIMEOUT_SECONDS = 120


@dataclass
class NginxTest:
    ok: bool
    first_error: str
    warnings: list[str] = field(default_factory=list)


def nginx_test(binary: str, prefix: Path, conf_name: str = "nginx.conf") -> NginxTest:
    """Run ``nginx -t -p PREFIX/ -c CONF`` and keep its first error line and its warnings."""
    if shutil.which(binary) is None:
        raise EnvironmentProblem(f"{binary} not found", hint="install Debian's nginx and libnginx-mod-http-js packages")
    argv = [binary, "-t", "-p", f"{prefix}/", "-c", conf_name]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=_TEST_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as error:
        raise EnvironmentProblem(f"nginx -t did not finish within {_TEST_TIMEOUT_SECONDS} s") from error
    lines = [_NOISE.sub(r"\1 ", line.strip()) for line in proc.stderr.splitlines() if line.strip()]
    warnings = [line for line in lines if "[warn]" in line]
    severe = [line for line in lines if any(tag in line for tag in _SEVERE)]
    first_error = (severe or [line for line in lines if line not in warnings] or ["(no output)"])[0]
    return NginxTest(ok=proc.returncode == 0, first_error=first_error, warnings=warnings)


def sibling(out_dir: Path, suffix: str) -> Path:
    return out_dir.with_name(f"{out_dir.name}.{suffix}")


def reject(staging: Path, out_dir: Path, test: NginxTest) -> AirgapError:
    """Keep the refused configuration in DIR.rejected for reading and describe nginx's complaint."""
    rejected = sibling(out_dir, "rejected")
    if rejected.exists():
        shutil.rmtree(rejected)
    staging.rename(rejected)
    message = test.first_error.replace(str(staging), str(rejected))
    kept = f"{out_dir} is unchanged" if out_dir.exists() else f"{out_dir} was not created"
    if "ngx_http_js_module" in message:
        kept = "install Debian's libnginx-mod-http-js (the bundle carries it); " + kept
    return AirgapError(f"nginx -t rejected the rendered configuration: {message}", hint=f"{kept}; see {rejected}")


def install(staging: Path, out_dir: Path) -> Path | None:
    """Make ``staging`` the live DIR; the previous DIR becomes DIR.prev (the last good configuration).

    Two renames, so DIR is absent for an instant; the running NGINX keeps its open files meanwhile.
    """
    previous = sibling(out_dir, "prev")
    if not out_dir.exists():
        staging.rename(out_dir)
        return None
    if not out_dir.is_dir():
        raise AirgapError(f"{out_dir} exists and is not a directory")
    _replace(out_dir, staging, previous)
    return previous


def restore_previous(out_dir: Path) -> Path:
    """Put DIR.prev back as DIR after the new configuration failed in service; DIR goes to DIR.failed.

    The live state (logs) stays with the live DIR. Returns the DIR.failed path.
    """
    previous, failed = sibling(out_dir, "prev"), sibling(out_dir, "failed")
    if not previous.is_dir():
        raise AirgapError(
            f"no previous configuration to restore: {previous} does not exist",
            hint="a first configuration has none; stop the gateway or render a good policy",
        )
    if not out_dir.is_dir():
        raise AirgapError(f"{out_dir} is not a directory")
    _replace(out_dir, previous, failed)
    return failed


def _replace(live: Path, incoming: Path, keep_as: Path) -> None:
    """``incoming`` becomes ``live``, the old ``live`` becomes ``keep_as``; the live state moves along."""
    for name in LIVE_STATE:
        if (live / name).is_dir():
            shutil.rmtree(incoming / name, ignore_errors=True)
            (live / name).rename(incoming / name)
    if keep_as.exists():
        shutil.rmtree(keep_as)
    live.rename(keep_as)
    incoming.rename(live)
