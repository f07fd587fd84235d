"""The logging role's Fluentd configuration, rendered by ansible-playbook through the role's own
fluentd_config.yml on this machine (connection local), into temporary directories.

Always: the rendering holds the store's structure (tests/integration/logging/fluentd_check.py) and is
idempotent. With a ``fluentd`` command on PATH: Fluentd's dry run takes it without a warning, a
configuration it refuses or warns about never replaces the installed one, and a real Fluentd run on
it stores access-log lines and events as the store's readers expect.

The play sees the role's real tasks, templates, defaults and vars, but neither its dependency
(airgapctl_install would install airgapctl from a bundle) nor its handlers (they restart systemd
units): a stand-in "Restart fluentd" handler counts the restarts instead.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airgapctl.contracts import access_log
from airgapctl.contracts import events as events_contract
from tests.integration.conftest import run_tool
from tests.integration.logging import fluentd_check

pytestmark = pytest.mark.integration
REPO = Path(__file__).parents[2]
ROLE = REPO / "roles" / "logging"
CHECKER = Path(fluentd_check.__file__)
FLUENTD = shutil.which("fluentd") or shutil.which("fluentd", path="/opt/fluent/bin")
NO_FLUENTD = "fluentd not installed: no `fluentd` command on PATH (fluent-package comes with the site's bundle only)"
needs_fluentd = pytest.mark.skipif(FLUENTD is None, reason=NO_FLUENTD)

PLAY = """
- name: Render the logging role's Fluentd configuration under a temporary directory
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Render, check and install it
      ansible.builtin.include_role:
        name: logging
        tasks_from: fluentd_config.yml
"""
HANDLERS = """
- name: Restart fluentd
  ansible.builtin.shell: echo restart >> {{ restarts_file }}
  changed_when: false
"""
# The Fluentd-only defaults (roles/logging/defaults/fluentd-vars.txt), given whether or not merged yet.
FLUENTD_DEFAULTS = {
    "logging_fluentd_validate": True,
    "logging_fluentd_refuse_warnings": True,
    "logging_fluentd_compress": False,
    "logging_fluentd_flush_interval": "5s",
    "logging_fluentd_chunk_limit_size": "8m",
    "logging_fluentd_total_limit_size": "512m",
    "logging_fluentd_buffer_options": {},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    """Temporary stand-ins for the appliance's directories, and the role run against them."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.store, self.state, self.etc = home / "store", home / "state", home / "etc"
        self.gateway_log = home / "gateway" / "access.log"
        self.config = self.etc / "fluentd.conf"
        self.restarts = home / "restarts"
        self.port = free_port()
        for directory in (self.store, self.state, self.etc, self.gateway_log.parent):
            directory.mkdir(parents=True)
        roles = home / "roles" / "logging"
        (roles / "handlers").mkdir(parents=True)
        for part in ("tasks", "templates", "defaults", "vars"):
            if (ROLE / part).is_dir():
                (roles / part).symlink_to(ROLE / part)
        (roles / "handlers" / "main.yml").write_text("---" + HANDLERS)
        (home / "play.yml").write_text("---" + PLAY)

    def variables(self, **overrides: object) -> dict[str, object]:
        return {**FLUENTD_DEFAULTS, "logging_store_dir": str(self.store), "logging_state_dir": str(self.state),
                "logging_gateway_log": str(self.gateway_log), "logging_events_port": self.port,
                "logging_fluentd_bin": FLUENTD or "fluentd", "logging_fluentd_config": str(self.config),
                "logging_fluentd_validate": FLUENTD is not None, "restarts_file": str(self.restarts),
                **overrides}  # fmt: skip

    def converge(self, **overrides: object) -> subprocess.CompletedProcess[str]:
        (self.home / "vars.json").write_text(json.dumps(self.variables(**overrides)))
        env = {"ANSIBLE_ROLES_PATH": str(self.home / "roles"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
               "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_DEPRECATION_WARNINGS": "false"}  # fmt: skip
        return run_tool(["ansible-playbook", "-i", "localhost,", "play.yml", "-e", "@vars.json"], self.home, 300, env)

    def converged(self, **overrides: object) -> dict[str, int]:
        proc = self.converge(**overrides)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-4000:]
        return recap(output)

    def restart_count(self) -> int:
        return len(self.restarts.read_text().splitlines()) if self.restarts.exists() else 0

    def problems(self, text: str | None = None, compress: str | None = None) -> list[str]:
        return fluentd_check.check(self.config.read_text() if text is None else text, str(self.store),
                                   str(self.gateway_log), self.port, state=str(self.state),
                                   compress=compress)  # fmt: skip


def recap(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("localhost") and "ok=" in line)
    return {key: int(value) for key, value in (item.split("=") for item in line.split()[2:])}


def dry_run(config: Path) -> subprocess.CompletedProcess[str]:
    assert FLUENTD is not None
    return subprocess.run([FLUENTD, "--dry-run", "-c", str(config)], capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


def warnings(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if "[warn]" in line]


@pytest.fixture
def site(tmp_path) -> Site:
    return Site(tmp_path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Site:
    """One rendering, validation off, for the checks that only read it."""
    built = Site(tmp_path_factory.mktemp("fluentd-rendered"))
    built.converged(logging_fluentd_validate=False)
    return built


def test_the_checker_reads_the_contracts_it_assumes():
    assert access_log.FIELD[fluentd_check.TIME_FIELD].nginx == "$time_iso8601"
    assert all(tag.startswith(events_contract.TAG_PREFIX + ".") for tag in fluentd_check.EVENT_TAGS)
    assert events_contract.STREAM == "events"


@pytest.mark.parametrize("compress", [False, True], ids=["text", "gzip"])
def test_the_rendering_holds_the_stores_structure_and_is_idempotent(site, compress):
    first = site.converged(logging_fluentd_compress=compress)
    assert first["changed"] == 2 and first["failed"] == 0  # the candidate, then the installed file
    assert site.restart_count() == 1
    assert site.problems(compress="gzip" if compress else "text") == []
    assert site.config.read_text() == (site.etc / "fluentd.conf.candidate").read_text()

    again = site.converged(logging_fluentd_compress=compress)
    assert again["changed"] == 0 and site.restart_count() == 1
    assert sorted(p.name for p in site.etc.iterdir()) == ["fluentd.conf", "fluentd.conf.candidate"]


def test_the_checker_as_a_command(rendered):
    argv = [sys.executable, str(CHECKER), str(rendered.config), "--store", str(rendered.store), "--gateway-log",
            str(rendered.gateway_log), "--port", str(rendered.port), "--state", str(rendered.state)]  # fmt: skip
    good = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert (good.returncode, good.stdout, good.stderr) == (0, "", "")
    wrong = subprocess.run([*argv[:-2], "--port", "1"], capture_output=True, text=True, check=False)
    assert wrong.returncode == 1
    assert wrong.stdout.startswith(f"{rendered.config}: line ") and "port" in wrong.stdout


# One edit of the rendering each, and what the checker must say about it.
BROKEN = [
    pytest.param("bind 127.0.0.1", "bind 0.0.0.0", "bind 0.0.0.0, not 127.0.0.1", id="bind"),
    pytest.param("  bind 127.0.0.1\n", "", "no bind (Fluentd listens on 0.0.0.0)", id="no-bind"),
    pytest.param("keep_time_key true", "keep_time_key false", "keep_time_key", id="time-key-dropped"),
    pytest.param("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "does not read NGINX's", id="time-format"),
    pytest.param("tag airgap_gateway.access", "tag airgap.gateway", "not under airgap.", id="gateway-tag"),
    pytest.param("follow_inodes true", "follow_inodes false", "follow_inodes", id="inodes"),
    pytest.param("buffer/events", "buffer/gateway", "is also used on line", id="shared-buffer"),
    pytest.param("<parse>\n    @type json", "<parse>\n    @type regexp", "not json", id="parse-type"),
    pytest.param("<format>\n    @type json", "<format>\n    @type ltsv", "<format> @type json", id="format"),
    pytest.param("append true", "append false", "append true", id="append"),
    # Taken by the catch-all instead, which writes elsewhere.
    pytest.param("<match airgap.**>", "<match airgap.*>", "events/%Y-%m-%d (one file a day)", id="events-unrouted"),
    pytest.param(
        "<match **>\n  @type file", "<match x.**>\n  @type file", "matches no <match>: dropped", id="no-catch-all"
    ),
]


@pytest.mark.parametrize(("old", "new", "problem"), BROKEN)
def test_the_checker_names_what_is_wrong(rendered, old, new, problem):
    text = rendered.config.read_text()
    assert old in text
    found = rendered.problems(text.replace(old, new, 1))
    assert any(problem in line for line in found), found


def test_the_checker_refuses_includes_buffers_in_the_store_and_a_broken_file(rendered):
    text = rendered.config.read_text()
    assert any("@include" in p for p in rendered.problems(text + "\n@include /etc/fluent/conf.d/*.conf\n"))
    inside = text.replace(f"path {rendered.state}/fluentd/buffer/gateway", f"path {rendered.store}/buffer", 1)
    assert any("is inside the store" in p for p in rendered.problems(inside))
    assert rendered.problems(text.replace("</buffer>", "", 1))[0].startswith("line ")
    assert any("compress" in p for p in rendered.problems(compress="gzip"))


@needs_fluentd
@pytest.mark.parametrize("compress", [False, True], ids=["text", "gzip"])
def test_fluentd_dry_run_takes_it_without_a_warning(site, compress):
    site.converged(logging_fluentd_compress=compress)  # the role's own check ran and passed
    proc = dry_run(site.config)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert warnings(proc) == []
    assert "finished dry run mode" in proc.stdout


@needs_fluentd
@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"flush_intervall": "3s"}, "[warn]: parameter 'flush_intervall' in <buffer time>"),  # only a warning
        ({"overflow_action": "explode"}, "valid options are throw_exception,block,drop_oldest_chunk but got explode"),
    ],
    ids=["misspelt-parameter", "bad-value"],
)
def test_a_configuration_fluentd_objects_to_is_refused_and_the_last_good_one_kept(site, options, said):
    site.converged()
    good = site.config.read_text()
    proc = site.converge(logging_fluentd_buffer_options=options)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"Fluentd refused {site.config}.candidate" in output and said in output, output[-3000:]
    assert f"{site.config} is left as it was" in output
    assert site.config.read_text() == good and site.restart_count() == 1
    assert next(iter(options)) in (site.etc / "fluentd.conf.candidate").read_text()
    # Fixed, the next run installs again, the refused rendering never having been live.
    assert site.converged()["changed"] == 1 and site.restart_count() == 1


def _stored(directory: Path) -> dict[str, list[dict]]:
    found = {}
    for path in sorted(directory.glob("*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            found[path.name] = [json.loads(line) for line in handle]
    return found


def _wait_for(predicate, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout}s; Fluentd said:\n{log.read_text()[-3000:]}")


@needs_fluentd
@pytest.mark.parametrize("compress", [False, True], ids=["text", "gzip"])
def test_fluentd_stores_access_log_lines_and_events_as_the_readers_expect(site, compress):
    from airgapctl.events.sender import AckingSender
    from airgapctl.events.store import read_store

    site.converged(logging_fluentd_compress=compress, logging_fluentd_flush_interval="1s")
    values = {"v": "1", "time": '"2026-03-02T09:30:00+01:00"', "status": "200", "bytes_in": "120",
              "bytes_out": "512", "request_time": "0.002", "decision": '"allow"', "reason": '"ok"'}  # fmt: skip
    for field in access_log.FIELDS:
        values.setdefault(field.name, f'"{field.name}-1"')
    first = access_log.json_line_template(values)
    site.gateway_log.write_text(first)  # before Fluentd starts: read from the head
    suffix = ".log.gz" if compress else ".log"
    log = site.home / "fluentd.log"
    with log.open("w") as out:
        fluentd = subprocess.Popen([FLUENTD, "-c", str(site.config)], stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    try:
        _wait_for(lambda: f"listening port port={site.port}" in log.read_text(), "Fluentd listening", log)
        second = first.replace('"time":"2026-03-02T09:30:00+01:00"', '"time":"2026-03-01T23:59:59+00:00"')
        with site.gateway_log.open("a") as handle:
            handle.write(second.replace("request_id-1", "request_id-2") + "not json\n")
        record = events_contract.new_record("bundle.verify", {"outcome": "accepted"}, "gw-test", None)
        sender = AckingSender("127.0.0.1", site.port, connect_timeout=2, ack_timeout=5)
        try:
            assert sender.emit_with_time(record["tag"], events_contract.parse_time(record["time"]), record)
            assert sender.emit_with_time("stray.tag", time.time(), {"hello": "world"})
        finally:
            sender.close()
        day = record["time"][:10]
        _wait_for(lambda: sum(len(v) for v in _stored(site.store / "gateway").values()) == 3
                  and (site.store / "events" / f"{day}{suffix}").exists()
                  and (site.store / "misc").is_dir(), "all stored", log)  # fmt: skip
    finally:
        os.killpg(fluentd.pid, signal.SIGTERM)
        fluentd.wait(timeout=30)

    gateway = _stored(site.store / "gateway")
    # Named by the record's own time, in UTC: 09:30+01:00 is 2026-03-02.
    assert gateway.pop(f"2026-03-02{suffix}") == [json.loads(first)]
    assert gateway.pop(f"2026-03-01{suffix}") == [json.loads(second.replace("request_id-1", "request_id-2"))]
    assert list(gateway.values()) == [[{"unmatched_line": "not json"}]]  # today's file
    if not compress:
        stored_line = (site.store / "gateway" / f"2026-03-02{suffix}").read_text()
        assert stored_line == first  # byte for byte, key order included
    assert _stored(site.store / "events") == {f"{day}{suffix}": [record]}
    assert [e["id"] for e in read_store(site.store).events] == [record["id"]]
    (misc,) = _stored(site.store / "misc").values()
    assert misc[0]["hello"] == "world" and misc[0]["collector_tag"] == "stray.tag"
    expected = '[warn]: #0 [gateway_access_log] pattern not matched: "not json"'
    assert "[warn]" not in log.read_text().replace(expected, "")
    buffers = site.state / "fluentd" / "buffer"
    assert sorted(p.name for p in buffers.iterdir()) == ["events", "gateway", "misc"]
    assert not any(site.store.rglob("buffer.*"))
