"""``airgapctl gateway render``: exit codes, one-line errors, the summary and --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airgapctl.errors import ExitCode
from tests.integration.gateway import pki
from tests.integration.gateway.nginx_process import free_port
from tests.integration.gateway.scenario import CREDENTIAL, scenario_policy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policy"


def _assert_one_line_error(result, start: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"airgapctl: error: {start}"), lines
    assert len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:])
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_schema_invalid_policy_is_exit_2_with_one_line_naming_file_and_path(cli, tmp_path):
    policy = FIXTURES / "bad-method.policy.json"
    result = cli("gateway", "render", "--policy", str(policy), "--out", str(tmp_path / "gw"))
    assert result.exit_code == ExitCode.BAD_INPUT == 2
    _assert_one_line_error(result, f"{policy}: /operations/1/method: 'FETCH' is not one of")
    assert not (tmp_path / "gw").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", str(FIXTURES / "not-json.policy.json")], f"{FIXTURES / 'not-json.policy.json'}: not valid JSON"),
        (["--policy", str(FIXTURES / "missing.json")], f"{FIXTURES / 'missing.json'}: cannot read the policy"),
        (["--policy", str(FIXTURES / "minimal.policy.json"), "--now", "tomorrow"], "--now 'tomorrow' is not a date"),
        (["--policy", str(FIXTURES / "minimal.policy.json"), "--listen", "127.0.0.1"], "listen '127.0.0.1' is not"),
        (["--policy", str(FIXTURES / "minimal.policy.json"), "--worker-processes", "0"], "worker_processes '0' must"),
        # A name that could end NGINX's server_name directive and start another never reaches the file.
        (
            ["--policy", str(FIXTURES / "minimal.policy.json"), "--server-name", "gw; include /etc/shadow"],
            "server name 'gw; include /etc/shadow' is not a host name or IP address",
        ),
        (["--policy", str(FIXTURES / "minimal.policy.json"), "--server-name", "-gw"], "server name '-gw' is not"),
    ],
)
def test_bad_input_is_exit_2(cli, tmp_path, args, message):
    result = cli("gateway", "render", *args, "--out", str(tmp_path / "gw"))
    assert result.exit_code == 2
    _assert_one_line_error(result, message)


def test_policy_and_out_are_required(cli):
    result = cli("gateway", "render")
    assert result.exit_code == 2
    assert "Missing option '--policy'" in result.stderr


@pytest.fixture
def tls_files(tmp_path) -> dict[str, str]:
    ca = pki.authority(tmp_path, "cli-ca")
    server = pki.issue(ca, tmp_path, "server", "CN=127.0.0.1,O=Example", server_ip="127.0.0.1")
    return {"--server-cert": str(server.cert), "--server-key": str(server.key), "--client-ca": str(ca.cert_path)}


def _render_args(out: Path, tls_files: dict[str, str]) -> list[str]:
    args = ["gateway", "render", "--policy", str(FIXTURES / "minimal.policy.json"), "--out", str(out)]
    args += ["--listen", f"127.0.0.1:{free_port()}", "--now", "2026-06-01", "--worker-processes", "1"]
    return args + [item for pair in tls_files.items() for item in pair]


@pytest.mark.integration
def test_render_prints_a_summary_then_json_and_keeps_the_previous_dir(cli, tmp_path, tls_files):
    out = tmp_path / "gw"
    result = cli(*_render_args(out, tls_files))
    assert result.exit_code == 0, result.stderr
    assert f"gateway configuration: {out}" in result.stdout
    assert "operations: 3; apis: 1; clients: 1; roles: 2" in result.stdout
    assert "nginx -t: ok" in result.stdout
    assert (out / "nginx.conf").is_file()

    args = _render_args(out, tls_files)
    args[args.index("--now") + 1] = "2026-06-02"  # the same policy for another day: rendered again
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "ok"
    data = document["data"]
    assert (data["operations"], data["nginx_test"], data["out_dir"]) == (3, "ok", str(out))
    assert data["changed"] is True
    assert "gateway/server.conf" in data["files"]


@pytest.mark.integration
def test_rendering_the_same_again_changes_nothing_and_rollback_restores_the_previous(cli, tmp_path, tls_files):
    out = tmp_path / "gw"
    args = _render_args(out, tls_files)  # one port for every run
    assert cli(*args).exit_code == 0
    first = (out / "gateway" / "maps.conf").read_text()
    (out / "logs").mkdir(exist_ok=True)
    (out / "logs" / "access.log").write_text("live log\n")

    again = cli(*args, "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["data"]["changed"] is False
    assert not (tmp_path / "gw.prev").exists()  # nothing was swapped
    assert "unchanged" in cli(*args).stdout

    other = [*args, "--server-name", "gw.site.example"]
    assert cli(*other).exit_code == 0
    assert (tmp_path / "gw.prev").is_dir() and (out / "gateway" / "maps.conf").read_text() != first

    rolled = cli("gateway", "rollback", "--out", str(out), "--json")
    assert rolled.exit_code == 0, rolled.stderr
    assert json.loads(rolled.stdout)["data"] == {"out_dir": str(out), "failed_dir": str(tmp_path / "gw.failed")}
    assert (out / "gateway" / "maps.conf").read_text() == first
    assert (out / "logs" / "access.log").read_text() == "live log\n"  # the live state stays live
    assert (tmp_path / "gw.failed" / "gateway" / "maps.conf").read_text() != first

    none_left = cli("gateway", "rollback", "--out", str(out))
    assert none_left.exit_code == ExitCode.FAILED
    _assert_one_line_error(none_left, f"no previous configuration to restore: {tmp_path / 'gw.prev'} does not exist")


@pytest.mark.integration
def test_nginx_rejecting_the_result_is_exit_1_with_its_first_error(cli, tmp_path, tls_files):
    (tmp_path / "not-a.crt").write_text("not a certificate\n")
    tls_files["--server-cert"] = str(tmp_path / "not-a.crt")
    result = cli(*_render_args(tmp_path / "gw", tls_files))
    assert result.exit_code == ExitCode.FAILED == 1
    _assert_one_line_error(result, "nginx -t rejected the rendered configuration: [emerg] cannot load certificate")
    assert f"{tmp_path / 'gw'} was not created" in result.stderr
    assert not (tmp_path / "gw").exists()


@pytest.mark.integration
def test_server_names_and_a_crl_are_rendered(cli, tmp_path, tls_files):
    crl = pki.revocation_list(pki.authority(tmp_path, "crl-ca"), [], tmp_path / "client.crl")
    out = tmp_path / "gw"
    args = [*_render_args(out, tls_files), "--server-name", "gw1.example.internal", "--server-name", "10.0.0.5"]
    result = cli(*args, "--client-crl", str(crl))
    assert result.exit_code == 0, result.stderr
    server = (out / "gateway" / "server.conf").read_text()
    assert "server_name gw1.example.internal 10.0.0.5;" in server
    assert f"ssl_crl {crl};" in server


@pytest.mark.integration
def test_a_missing_server_certificate_is_named_before_a_missing_credential_include(cli, tmp_path, tls_files):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(scenario_policy(20001, 20002)))
    args = ["gateway", "render", "--policy", str(policy), "--out", str(tmp_path / "gw"), "--now", "2026-06-01"]
    args += ["--credentials-dir", str(tmp_path / "credentials")]
    missing_cert = {**tls_files, "--server-cert": str(tmp_path / "no-such.crt")}
    result = cli(*args, *[item for pair in missing_cert.items() for item in pair])
    assert result.exit_code == ExitCode.BAD_INPUT
    _assert_one_line_error(result, f"the server certificate {tmp_path / 'no-such.crt'} does not exist")
    assert "airgapctl ca issue server" in result.stderr

    result = cli(*args, *[item for pair in tls_files.items() for item in pair])
    assert result.exit_code == ExitCode.BAD_INPUT
    include = tmp_path / "credentials" / f"{CREDENTIAL}.conf"
    _assert_one_line_error(result, f"API petstore: the credential include {include} does not exist")
    assert f"airgapctl vault set {CREDENTIAL}" in result.stderr
    assert not (tmp_path / "gw").exists()
