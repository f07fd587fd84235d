"""``airgapctl events flush|tail`` and the events that bundle verification emits, through the real entry
point, against the project's own Forward receiver (tests/forward_receiver.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgapctl.contracts import events as contract
from airgapctl.errors import ExitCode
from tests.cli.test_bundle_cli import _verify, site  # noqa: F401  # the fixture, used by name
from tests.forward_receiver import ForwardReceiver
from tests.unit.test_events_delivery import _free_port


@pytest.fixture
def events_to(monkeypatch, tmp_path):
    """Turn events on, to ``address`` (a free port when None), spooled under tmp_path/spool."""

    def point(address: str | None = None) -> str:
        address = address or f"127.0.0.1:{_free_port()}"
        monkeypatch.setenv("AIRGAPCTL_EVENTS", "on")
        monkeypatch.setenv("AIRGAPCTL_EVENTS_COLLECTOR", address)
        monkeypatch.setenv("AIRGAPCTL_EVENTS_SPOOL", str(tmp_path / "spool"))
        return address

    return point


@pytest.fixture
def receiver(tmp_path):
    with ForwardReceiver(tmp_path / "store") as running:
        yield running


def _store(tmp_path, *records) -> None:
    (tmp_path / "store" / "events").mkdir(parents=True, exist_ok=True)
    with open(tmp_path / "store" / "events" / "events.log", "a") as handle:
        handle.writelines(map(contract.store_line, records))


def test_flush_with_nothing_spooled(cli, events_to, tmp_path):
    events_to()
    result = cli("events", "flush", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert (data["sent"], data["pending"], data["error"]) == (0, 0, None)


def test_flush_with_the_collector_down_is_one_line_and_exit_3(cli, events_to, tmp_path):
    from airgapctl import events

    address = events_to()
    assert events.emit("test.event", {"n": 1}).spooled
    result = cli("events", "flush")
    assert result.exit_code == ExitCode.ENVIRONMENT == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        f"airgapctl: error: collector {address}: Connection refused: 0 delivered, 1 still in the spool {tmp_path}/spool"
    )
    assert lines[1].startswith("hint: start the collector") and len(lines) == 2
    document = json.loads(cli("events", "flush", "--json").stdout)
    assert document["status"] == "error" and document["data"]["pending"] == 1
    assert document["errors"][0]["exit_code"] == 3


def test_flush_delivers_the_spool_and_tail_shows_it(cli, events_to, tmp_path, receiver):
    from airgapctl import events

    events_to()  # down: both spooled
    for n in range(2):
        events.emit("test.event", {"n": n, "name": "two words"})
    result = cli("events", "flush", "--collector", receiver.address)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"events: 2 delivered to {receiver.address}; spool {tmp_path}/spool empty\n"
    tail = cli("events", "tail", "--store", str(tmp_path / "store"))
    assert tail.exit_code == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert len(lines) == 2 and lines[0].endswith('  airgap.test.event  n=0 name="two words"')
    assert "2 event(s) matched, 2 shown; 0 repeat(s) dropped" in tail.stderr


def test_tail_drops_repeats_orders_by_time_and_filters(cli, tmp_path):
    first = contract.new_record("bundle.verify", {"name": "site-a"}, "gw1", 1772438400.0)
    second = contract.new_record("audit.run", {"findings": 2}, "gw1", 1772438460.0)
    third = contract.new_record("audit.run", {"findings": 0}, "gw1", 1772438520.0)
    _store(tmp_path, third, first, second, first, third)
    store = str(tmp_path / "store")
    document = json.loads(cli("events", "tail", "--store", store, "-n", "0", "--json").stdout)
    data = document["data"]
    assert [e["id"] for e in data["events"]] == [first["id"], second["id"], third["id"]]
    assert (data["repeats"], data["lines"], data["matched"]) == (2, 5, 3)
    newest = json.loads(cli("events", "tail", "--store", store, "-n", "1", "--json").stdout)["data"]
    assert [e["id"] for e in newest["events"]] == [third["id"]] and newest["matched"] == 3
    tagged = json.loads(cli("events", "tail", "--store", store, "--tag", "audit", "--json").stdout)["data"]
    assert [e["id"] for e in tagged["events"]] == [second["id"], third["id"]]
    since = cli("events", "tail", "--store", store, "--since", "2026-03-02T08:01:30Z", "--json")
    assert [e["id"] for e in json.loads(since.stdout)["data"]["events"]] == [third["id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "airgapctl: error: --since 'yesterday' is not a time"),
        (["--store", "/no/such/store"], "airgapctl: error: events store /no/such/store/events: no such directory"),
    ],
)
def test_tail_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, message):
    _store(tmp_path)
    result = cli("events", "tail", "--store", str(tmp_path / "store"), *args)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.splitlines()[0] == message and "Traceback" not in result.stderr


def test_bundle_verify_emits_accepted_then_rejected_with_names_and_counts_only(cli, site, events_to, receiver):  # noqa: F811
    events_to(receiver.address)
    assert _verify(cli, site).exit_code == 0
    replay = _verify(cli, site)
    assert replay.exit_code == ExitCode.BUNDLE_ROLLBACK
    accepted, rejected = receiver.records
    assert accepted["tag"] == rejected["tag"] == "airgap.bundle.verify"
    assert accepted["fields"] == {
        "outcome": "accepted", "exit_code": 0, "reason": "OK", "name": "site-a", "version": "1.0", "sequence": 1,
        "signed_name": True, "previous_sequence": None, "downgrade": False, "check_only": False,
        "files": accepted["fields"]["files"], "bytes": accepted["fields"]["bytes"],
        "key_id": accepted["fields"]["key_id"],
    }  # fmt: skip
    assert rejected["fields"] == {
        "outcome": "rejected", "exit_code": 14, "reason": "BUNDLE_ROLLBACK", "name": "site-a", "version": "1.0",
        "sequence": 1, "signed_name": False, "check_only": False,
    }  # fmt: skip
    # No key material and no file content: the private key's text appears in no event.
    secret = site["private"].read_text().splitlines()[1]
    assert secret not in json.dumps(receiver.records)


def test_a_bundle_verified_with_the_collector_down_is_spooled_silently(cli, site, events_to, tmp_path):  # noqa: F811
    events_to()
    result = _verify(cli, site)
    assert result.exit_code == 0 and "warning" not in result.stderr
    from airgapctl.events.spool import Spool

    assert Spool(tmp_path / "spool").count() == 1


def test_an_unwritable_spool_is_one_warning_and_the_exit_code_stands(cli, site, events_to, monkeypatch, tmp_path):  # noqa: F811
    events_to()
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setenv("AIRGAPCTL_EVENTS_SPOOL", str(tmp_path / "not-a-directory"))
    result = _verify(cli, site)
    assert result.exit_code == 0
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning: event")]
    assert warning.startswith(f"warning: event bundle.verify not recorded: events spool {tmp_path}/not-a-directory")
    replay = _verify(cli, site)
    assert replay.exit_code == ExitCode.BUNDLE_ROLLBACK and "warning: event bundle.verify not recorded" in replay.stderr


def test_events_off_sends_nothing(cli, site, receiver, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("AIRGAPCTL_EVENTS_COLLECTOR", receiver.address)
    monkeypatch.setenv("AIRGAPCTL_EVENTS_SPOOL", str(tmp_path / "spool"))
    assert _verify(cli, site).exit_code == 0
    assert receiver.records == [] and not (tmp_path / "spool").exists()


def test_every_audit_run_emits_its_counts_and_a_failing_run_keeps_exit_1(cli, events_to, receiver, tmp_path):
    from tests.cli.test_audit_cli import GATEWAY_LINES, _run_args

    events_to(receiver.address)
    result = cli(*_run_args(GATEWAY_LINES), "--fail-on", "medium", "--report-dir", str(tmp_path / "reports"))
    assert result.exit_code == ExitCode.FAILED and "warning: event" not in result.stderr
    [event] = receiver.records
    assert event["tag"] == "airgap.audit.run"
    fields = event["fields"]
    assert sorted(fields) == sorted([
        "window_start", "window_end", "policy_id", "lines_read", "lines_used", "lines_skipped", "incremental",
        "findings", "by_severity", "by_detector", "highest_severity", "failed", "reports_written",
    ])  # fmt: skip
    assert fields["failed"] is True and fields["reports_written"] == 1 and fields["lines_read"] > 0
    assert fields["findings"] == sum(fields["by_severity"].values()) == sum(fields["by_detector"].values()) > 0
    # Counts and names only: no client, address or path from the log is in the event.
    logged = [json.loads(line) for line in Path(GATEWAY_LINES).read_text().splitlines()]
    text = json.dumps(event)
    assert not [
        line
        for line in logged
        if (line["client"] and f'"{line["client"]}"' in text) or f'"{line["remote_addr"]}"' in text
    ]
    assert not [line for line in logged if line["uri"] in text]


def test_an_audit_run_with_the_spool_unwritable_warns_once_and_keeps_its_exit_code(
    cli, events_to, monkeypatch, tmp_path
):
    from tests.cli.test_audit_cli import GATEWAY_LINES, _run_args

    events_to()
    monkeypatch.setenv("AIRGAPCTL_EVENTS_SPOOL", "/proc/no-spool-here")
    result = cli(*_run_args(GATEWAY_LINES), "--fail-on", "none")
    assert result.exit_code == 0
    assert (
        [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        == [line for line in result.stderr.splitlines() if line.startswith("warning: event audit.run not recorded: ")]
        != []
    )
