"""provision preflight: a good site passes; each failure class is one problem naming its place; nothing is written."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from airgapctl.ca import issue_server, refresh_crl
from airgapctl.provision.preflight import Problem, check
from airgapctl.provision.problems import shown
from airgapctl.specs.compile import compile_files, write_policy
from airgapctl.specs.validate import validate_spec
from airgapctl.vault.operations import init, set_credential
from airgapctl.vault.passwords import Password
from tests.unit.ca_support import NOW, SECRET, make_ca
from tests.unit.test_bundle_support import make_bundle, make_keys, tree_snapshot

REPO = Path(__file__).resolve().parents[2]
# A day after the test CA's certificates and CRL were made: everything is well inside its validity.
CHECKED_AT = NOW + dt.timedelta(days=1)
PASSWORD = b"preflight test vault password"
CREDENTIAL = "pets-api-token"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """A real bundle and key, CA, server certificate and CRL, compiled policy and vault password."""
    root = tmp_path_factory.mktemp("artifacts")
    private, public = make_keys(root / "keys")
    _, other_public = make_keys(root / "other-keys", "other")
    bundle = make_bundle(root / "bundle", private)
    store = make_ca(root)
    issue_server(store, SECRET, "gateway", ["gw-01", "127.0.0.1"], root / "tls", now=NOW)
    issue_server(store, SECRET, "noloop", ["gw-01"], root / "tls", now=NOW)
    refresh_crl(store, SECRET, days=30, copy_to=root / "tls" / "client-ca.crl", now=NOW)
    (root / "selftest").mkdir()
    lab = root / "lab"
    shutil.copytree(REPO / "examples" / "lab", lab)
    access = yaml.safe_load((lab / "access.yml").read_text())
    access["apis"][0]["upstream"]["credential"] = CREDENTIAL
    (lab / "access.yml").write_text(yaml.safe_dump(access))
    result = compile_files(lab / "access.yml", lambda path: validate_spec(path, use_cache=False))
    write_policy(result.policy, root / "policy.json")
    (root / "vault-pass").write_bytes(PASSWORD + b"\n")
    (root / "wrong-pass").write_bytes(b"not the password\n")
    return {
        "root": root,
        "bundle": bundle,
        "pubkey": public,
        "other_pubkey": other_public,
        "policy": root / "policy.json",
        "access": lab / "access.yml",
        "tls": root / "tls",
        "selftest": root / "selftest",
        "vault_pass": root / "vault-pass",
        "wrong_pass": root / "wrong-pass",
    }


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _credentials(path: Path, artifacts: dict[str, Path], names: tuple[str, ...] = (CREDENTIAL,)) -> None:
    init(path)
    for name in names:
        set_credential(path, name, "Bearer abc123", Password(PASSWORD, "test"), "airgap", now=NOW)


def make_site(tmp_path: Path, artifacts: dict[str, Path], hosts: dict | None = None, group: str = "gateways") -> Path:
    """inventory/site-a: one local gateway, an empty bastions group, every variable the roles need."""
    site = tmp_path / "inventory" / "site-a"
    hosts = hosts or {"gw-01": {"ansible_connection": "local"}}
    for variables in hosts.values():
        variables.setdefault("ansible_python_interpreter", "{{ ansible_playbook_python }}")
    _write(site / "hosts.yml", {"all": {"children": {group: {"hosts": hosts}, "bastions": {"hosts": {}}}}})
    tls = artifacts["tls"]
    # Bastions take the bundle too: its source is site-wide.
    _write(
        site / "group_vars" / "all" / "main.yml",
        {"airgap_repo_bundle_src": str(artifacts["bundle"]), "airgap_repo_pubkey_src": str(artifacts["pubkey"])},
    )
    _write(
        site / "group_vars" / group / "main.yml",
        {
            "gateway_proxy_server_cert_src": str(tls / "gateway.crt"),
            "gateway_proxy_server_key_src": str(tls / "gateway.key"),
            "gateway_proxy_client_ca_src": str(tls / "ca.crt"),
            "gateway_proxy_client_crl_src": str(tls / "client-ca.crl"),
            "gateway_proxy_selftest_certs_src": str(artifacts["selftest"]),
            "logging_backend": "rsyslog",
        },
    )
    _credentials(site / "group_vars" / group / "credentials.yml", artifacts)
    for name in hosts:
        _write(site / "host_vars" / f"{name}.yml", {"gateway_proxy_policy_src": str(artifacts["policy"])})
    return site


def run(site: Path, artifacts: dict[str, Path], **options) -> list[Problem]:
    """check(), proving it wrote nothing: the inventory's tree and the artifacts are byte-identical after."""
    options.setdefault("reach", False)
    options.setdefault("now", CHECKED_AT)
    options.setdefault("environ", {})
    if "vault_password_file" not in options:
        options["vault_password_file"] = artifacts["vault_pass"]
    trees = [site.parent.parent, artifacts["root"]]
    before = [_tree(tree) for tree in trees]
    problems = check(site, **options)
    assert [_tree(tree) for tree in trees] == before
    for problem in problems:
        assert "\n" not in problem.as_line()
    return problems


def _tree(root: Path) -> tuple[dict[str, str], list[str]]:
    return tree_snapshot(root), sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _set(site: Path, relative: str, **variables) -> Path:
    path = site / relative
    document = yaml.safe_load(path.read_text()) if path.exists() else {}
    document.update(variables)
    return _write(path, document)


def _lines(problems: list[Problem]) -> list[str]:
    return [p.as_line() for p in problems]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, _lines(problems)
    return problems[0]


# --- the good site


def test_good_site_has_no_problems(tmp_path, artifacts):
    assert _lines(run(make_site(tmp_path, artifacts), artifacts)) == []


def test_a_gateway_group_of_another_name_is_refused(tmp_path, artifacts):
    lines = _lines(run(make_site(tmp_path, artifacts, group="appliances"), artifacts))
    assert any("no host in group gateways" in line for line in lines), lines


def test_problem_line_format():
    problem = Problem("what happened", "inventory/site-a/host_vars/gw-01.yml: gateway_proxy_policy_src", "the fix")
    assert (
        problem.as_line() == "inventory/site-a/host_vars/gw-01.yml: gateway_proxy_policy_src: what happened (the fix)"
    )


# --- 1. inventory


def test_yaml_error_in_inventory(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    (site / "hosts.yml").write_text("all:\n  children:\n    gateways: [\n")
    problem = only(run(site, artifacts))
    assert problem.where == shown(site / "hosts.yml")
    assert "YAML" in problem.what


def test_yaml_error_in_group_vars(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    broken = _write(site / "group_vars" / "gateways" / "broken.yml", "a: [\n")
    problem = only(run(site, artifacts))
    assert problem.where == shown(broken)


def test_unknown_group(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    document = yaml.safe_load((site / "hosts.yml").read_text())
    document["all"]["children"]["routers"] = {"hosts": {"r-01": {"ansible_connection": "local"}}}
    _write(site / "hosts.yml", document)
    problem = only(run(site, artifacts))
    assert problem.where == shown(site)
    assert "unknown group routers" in problem.what


def test_no_gateway(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    _write(
        site / "hosts.yml", {"all": {"children": {"bastions": {"hosts": {"b-01": {"ansible_connection": "local"}}}}}}
    )
    problem = only(run(site, artifacts))
    assert problem.where == shown(site)
    assert "no host in group gateways" in problem.what


# --- 5. and 1. the vault


def test_vault_password_missing(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    problem = only(run(site, artifacts, vault_password_file=None))
    assert problem.where == shown(site / "group_vars" / "gateways" / "credentials.yml")
    assert "no vault password was given" in problem.what


def test_vault_password_from_the_environment(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    environ = {"ANSIBLE_VAULT_IDENTITY_LIST": f"airgap@{artifacts['vault_pass']}"}
    assert _lines(run(site, artifacts, vault_password_file=None, environ=environ)) == []


def test_vault_password_wrong(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    problem = only(run(site, artifacts, vault_password_file=artifacts["wrong_pass"]))
    assert problem.where == shown(site / "group_vars" / "gateways" / "credentials.yml")
    assert "the vault password is missing or wrong" in problem.what


# --- 2. variables


def test_required_option_missing_names_host_and_variable(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    (site / "host_vars" / "gw-01.yml").unlink()
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(site)}: host gw-01: gateway_proxy_policy_src"
    assert "role gateway_proxy requires gateway_proxy_policy_src" in problem.what


def test_wrong_type_names_the_file_that_set_it(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    host_vars = _set(site, "host_vars/gw-01.yml", logging_retention_days="ninety")
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(host_vars)}: logging_retention_days"
    assert "role logging" in problem.what and "int" in problem.what


def test_choice_outside_the_choices(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    group_vars = _set(site, "group_vars/gateways/main.yml", logging_backend="syslog-ng")
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(group_vars)}: logging_backend"
    assert "rsyslog" in problem.what and "fluentd" in problem.what


def test_misspelt_role_option(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    host_vars = _set(site, "host_vars/gw-01.yml", audit_schedule_on_calender="daily")
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(host_vars)}: audit_schedule_on_calender"
    assert "audit_schedule_on_calendar" in problem.fix


def test_plain_secret_variable(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    host_vars = _set(site, "host_vars/gw-01.yml", ansible_become_password="hunter2")  # noqa: S106 - the secret in clear under test
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(host_vars)}: ansible_become_password"
    assert "not vaulted" in problem.what


def test_duplicate_host_names(tmp_path, artifacts):
    hosts = {"gw-01": {"ansible_connection": "local"}, "gw-02": {"ansible_connection": "local"}}
    site = make_site(tmp_path, artifacts, hosts=hosts)
    for name in hosts:
        _set(site, f"host_vars/{name}.yml", appliance_base_hostname="gateway")
    problems = run(site, artifacts)
    assert [p.where for p in problems] == [
        f"{shown(site / 'host_vars' / name)}.yml: appliance_base_hostname" for name in hosts
    ]
    assert "as gw-02 does" in problems[0].what


def test_server_names_without_loopback(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    group_vars = _set(site, "group_vars/gateways/main.yml", gateway_proxy_server_names=["gw-01"])
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(group_vars)}: gateway_proxy_server_names"
    assert "127.0.0.1" in problem.what


def test_unrenderable_values_are_left_unchecked_and_never_run(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    marker = tmp_path / "ran"
    _set(
        site,
        "host_vars/gw-01.yml",
        logging_retention_days="{{ ansible_facts['memtotal_mb'] // 100 }}",
        audit_schedule_since=f"{{{{ lookup('ansible.builtin.pipe', 'touch {marker}') }}}}",
    )
    assert _lines(run(site, artifacts)) == []
    assert not marker.exists()


# --- 3. the bundle


def test_bundle_signed_by_another_key(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    group_vars = _set(site, "group_vars/all/main.yml", airgap_repo_pubkey_src=str(artifacts["other_pubkey"]))
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(group_vars)}: airgap_repo_bundle_src"
    assert "BUNDLE_SIGNATURE" in problem.what and "exit 10" in problem.what


def test_bundle_missing(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    _set(site, "group_vars/gateways/main.yml", airgap_repo_bundle_src=str(tmp_path / "no-bundle"))
    problem = only(run(site, artifacts))
    assert "does not exist" in problem.what and "BAD_INPUT" in problem.what


def test_bundle_of_another_name(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    _set(site, "group_vars/gateways/main.yml", airgap_repo_bundle_name="site-b")
    problem = only(run(site, artifacts))
    assert "BUNDLE_UNEXPECTED_NAME" in problem.what


# --- 4. the policy


def test_policy_not_valid(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    bad = REPO / "tests" / "fixtures" / "policy" / "bad-method.policy.json"
    host_vars = _set(site, "host_vars/gw-01.yml", gateway_proxy_policy_src=str(bad))
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(host_vars)}: gateway_proxy_policy_src"
    assert "not a valid compiled policy" in problem.what


def test_credential_of_an_upstream_missing(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    credentials = site / "group_vars" / "gateways" / "credentials.yml"
    credentials.unlink()
    _credentials(credentials, artifacts, names=("other-token",))
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(credentials)}: secrets_credentials"
    assert "api pets" in problem.what and f"credential {CREDENTIAL}" in problem.what


def test_access_file_compiles_to_the_policy(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    _set(site, "host_vars/gw-01.yml", airgap_access_src=str(artifacts["access"]))
    assert _lines(run(site, artifacts)) == []


def test_access_file_with_a_conflict(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    lab = tmp_path / "lab"
    shutil.copytree(artifacts["access"].parent, lab)
    access = yaml.safe_load((lab / "access.yml").read_text())
    access["clients"][0]["roles"].append("auditor")
    _write(lab / "access.yml", access)
    host_vars = _set(site, "host_vars/gw-01.yml", airgap_access_src=str(lab / "access.yml"))
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(host_vars)}: airgap_access_src"
    assert "auditor" in problem.what


# --- 6. TLS files and the CRL


def test_key_not_the_certificates(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    group_vars = _set(
        site, "group_vars/gateways/main.yml", gateway_proxy_server_key_src=str(artifacts["tls"] / "noloop.key")
    )
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(group_vars)}: gateway_proxy_server_cert_src"
    assert "is not the server certificate's" in problem.what


def test_server_certificate_without_loopback(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    tls = artifacts["tls"]
    group_vars = _set(
        site,
        "group_vars/gateways/main.yml",
        gateway_proxy_server_cert_src=str(tls / "noloop.crt"),
        gateway_proxy_server_key_src=str(tls / "noloop.key"),
    )
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(group_vars)}: gateway_proxy_server_cert_src"
    assert "127.0.0.1" in problem.what


def test_missing_tls_file(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    group_vars = _set(site, "group_vars/gateways/main.yml", gateway_proxy_client_ca_src=str(tmp_path / "none.crt"))
    problem = only(run(site, artifacts))
    assert problem.where == f"{shown(group_vars)}: gateway_proxy_client_ca_src"
    assert "does not exist" in problem.what


def test_crl_within_the_margin(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    # The CRL's next update is 30 days after NOW: 10 days left, inside the default margin of 14.
    problem = only(run(site, artifacts, now=NOW + dt.timedelta(days=20)))
    assert problem.where == f"{shown(site / 'group_vars' / 'gateways' / 'main.yml')}: gateway_proxy_client_crl_src"
    assert "within 14 days" in problem.what


def test_margin_is_the_sites(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    _set(site, "group_vars/gateways/main.yml", airgap_expiry_margin_days=5)
    assert _lines(run(site, artifacts, now=NOW + dt.timedelta(days=20))) == []


def test_certificate_expiring_within_the_margin(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    _set(site, "group_vars/gateways/main.yml", airgap_expiry_margin_days=0)
    # Issued for 365 days; the CRL has long run out by then too, and says so itself.
    problems = run(site, artifacts, now=NOW + dt.timedelta(days=366))
    where = shown(site / "group_vars" / "gateways" / "main.yml")
    server = [p for p in problems if p.where == f"{where}: gateway_proxy_server_cert_src"]
    assert len(server) == 1 and "expired" in server[0].what
    assert any(p.where == f"{where}: gateway_proxy_client_crl_src" and "expired" in p.what for p in problems)


# --- 7. reachability (loopback only)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_reach_local_host(tmp_path, artifacts):
    site = make_site(tmp_path, artifacts)
    assert _lines(run(site, artifacts, reach=True)) == []


def test_reach_unreachable_host(tmp_path, artifacts):
    hosts = {
        "gw-01": {"ansible_connection": "local"},
        "gw-02": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": _closed_port()},
    }
    site = make_site(tmp_path, artifacts, hosts=hosts)
    problem = only(run(site, artifacts, reach=True))
    assert problem.where == f"{shown(site)}: host gw-02"
    assert problem.what.startswith("unreachable:") and "127.0.0.1" in problem.what


def test_limit_restricts_the_hosts(tmp_path, artifacts):
    hosts = {
        "gw-01": {"ansible_connection": "local"},
        "gw-02": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": _closed_port()},
    }
    site = make_site(tmp_path, artifacts, hosts=hosts)
    assert _lines(run(site, artifacts, reach=True, limit="gw-01")) == []


def test_a_bundle_older_than_the_last_deployed_is_refused(tmp_path, artifacts):
    from airgapctl.provision.artifacts import record_deployed

    private, public = make_keys(tmp_path / "keys")
    first, second = (make_bundle(tmp_path / f"b{n}", private, sequence=n) for n in (1, 2))
    site = make_site(tmp_path, artifacts)
    where = _set(site, "group_vars/all/main.yml", airgap_repo_bundle_src=str(first), airgap_repo_pubkey_src=str(public))
    deployed = tmp_path / "deployed-bundles"
    assert _lines(run(site, artifacts, accepted_dir=deployed)) == []  # nothing deployed yet
    record_deployed([(first, public)], deployed, CHECKED_AT)
    verified: list = []
    assert _lines(run(site, artifacts, accepted_dir=deployed, verified=verified)) == []  # the same again: a re-run
    assert verified == [(first, public)]
    record_deployed([(second, public)], deployed, CHECKED_AT)
    problem = only(run(site, artifacts, accepted_dir=deployed))
    assert problem.where == f"{shown(where)}: airgap_repo_bundle_src"
    assert "sequence 1 is an older sequence than the last one provisioned from this controller (sequence 2" in (
        problem.what
    )
