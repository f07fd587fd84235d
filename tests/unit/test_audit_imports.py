"""A daily `airgapctl audit run` imports what reading and judging new lines needs, and nothing else:
not the command-line framework, not the gateway renderer's Jinja, not the schema validators once the
policy is known valid, not DuckDB's Python wrapper. Checked in a fresh interpreter, as the systemd
timer starts one."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audit"
SAMPLE = json.loads((FIXTURES / "readers" / "gateway_lines.log").read_text().splitlines()[0])
START = dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
# Top-level packages a daily run must not load (each costs it from a few to tens of milliseconds).
NOT_NEEDED = (
    "typer",
    "click",
    "pydantic",
    "pydantic_core",
    "rich",
    "jinja2",
    "markupsafe",
    "fastjsonschema",
    "jsonschema",
    "yaml",
    "cryptography",
    "duckdb",  # the Python wrapper: the audit uses DuckDB's core module alone
)
NOT_NEEDED_HERE = ("airgapctl.gateway.render", "airgapctl.specs.compile", "airgapctl.bundle_build")

_RUN = """
import json, sys
from airgapctl.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def _append(log: Path, first: int, count: int = 30) -> None:
    lines = [
        json.dumps(SAMPLE | {"time": (START + dt.timedelta(seconds=10 * i)).isoformat(), "request_id": f"{i:032x}"})
        for i in range(first, first + count)
    ]
    with log.open("a") as stream:
        stream.write("".join(line + "\n" for line in lines))


def _audit(tmp_path: Path) -> dict:
    args = [
        "audit", "run", "--logs", str(tmp_path / "access.log"), "--policy", str(FIXTURES / "policy.json"),
        "--state", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports"), "--format", "json",
        "--gateway-config", str(tmp_path / "gateway"), "--fail-on", "none", "--quiet",
    ]  # fmt: skip
    result = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_daily_run_imports_neither_typer_nor_jinja_nor_a_schema_validator(tmp_path):
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "nginx.conf").write_text("events {}\n")
    _append(tmp_path / "access.log", 0)
    first = _audit(tmp_path)  # learns, checks the policy, renders the configuration once
    assert first["exit"] == 0
    _append(tmp_path / "access.log", 30)
    daily = _audit(tmp_path)
    assert daily["exit"] == 0
    loaded = {name.split(".")[0] for name in daily["modules"]}
    assert sorted(loaded & set(NOT_NEEDED)) == []
    assert sorted(set(daily["modules"]) & set(NOT_NEEDED_HERE)) == []
    # Not a vacuous check: the first run, which had to check and render, did load them.
    assert {"jinja2", "fastjsonschema"} <= {name.split(".")[0] for name in first["modules"]}
