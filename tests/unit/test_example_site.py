"""inventory/example-site: preflight finds nothing wrong with its inventory or variables, and every
variable it sets is a role's option or a documented site variable, documented where it is set."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from airgapctl.provision.inventory import BASTIONS, GATEWAYS, ansible_context, load_inventory
from airgapctl.provision.preflight import TLS_VARIABLES, check
from airgapctl.provision.variables import GATEWAY_ROLES, check_roles, check_site, required_options, role_options
from airgapctl.vault import store
from airgapctl.vault.sealing import vault_id_of

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "inventory" / "example-site"
ROLES = REPO / "roles"
FILES = {
    "README.md",
    "hosts.yml",
    "group_vars/all/main.yml",
    "group_vars/gateways/main.yml",
    "group_vars/gateways/vault.yml",
    "host_vars/gw-01.yml",
    "host_vars/gw-02.yml",
}
# Read by airgapctl provision's preflight, not by a role (docs/provision.md).
SITE_VARIABLES = {"airgap_expiry_margin_days", "airgap_access_src"}
# The files the example names but does not ship: the site's media.
ARTIFACTS = {
    "airgap_repo_bundle_src",
    "gateway_proxy_policy_src",
    "airgap_access_src",
    "gateway_proxy_selftest_certs_src",
    *TLS_VARIABLES,
}


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


def _load(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader plus !vault


def _vars_files() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.yml") if p.name != "hosts.yml")


def _host_variables() -> dict[str, dict]:
    """Variables set on hosts in hosts.yml, per host."""
    found: dict[str, dict] = {}

    def walk(group: dict) -> None:
        for name, variables in (group.get("hosts") or {}).items():
            found[name] = variables or {}
        for child in (group.get("children") or {}).values():
            walk(child or {})

    walk(_load(SITE / "hosts.yml")["all"])
    return found


def _set_variables() -> dict[Path, set[str]]:
    """Every variable each file of the example sets."""
    found = {path: set(_load(path) or {}) for path in _vars_files()}
    found[SITE / "hosts.yml"] = {name for variables in _host_variables().values() for name in variables}
    return found


def test_the_example_holds_only_its_own_files():
    present = {p.relative_to(SITE).as_posix() for p in SITE.rglob("*") if p.is_file()}
    assert present == FILES


def test_inventory_and_variables_pass_preflight():
    from ansible.parsing.dataloader import DataLoader

    loader = DataLoader()
    with ansible_context([]):
        hosts, problems = load_inventory(SITE, loader, [], None, True)
        for host in hosts:
            problems += check_roles(host, ROLES, SITE)
        problems += check_site(hosts, SITE, required_options(ROLES))
    assert [p.as_line() for p in problems] == []
    assert {h.name: h.group for h in hosts} == {"gw-01": GATEWAYS, "gw-02": GATEWAYS, "bastion-01": BASTIONS}
    for host in hosts:
        if host.group == GATEWAYS:
            assert host.value("appliance_base_hostname") == host.name
            assert "127.0.0.1" in host.value("gateway_proxy_server_names")
            assert host.value("gateway_proxy_server_cert_src").endswith(f"/media/tls/{host.name}.crt")


def test_preflight_without_media_or_password_finds_only_those():
    """check() without reach: the missing vault password and the missing media, nothing else."""
    problems = check(SITE, reach=False, roles_dir=ROLES, environ={})
    vault = [p for p in problems if "vault password" in p.what]
    assert len(vault) == 1 and vault[0].where.endswith("group_vars/gateways/vault.yml")
    flagged = set()
    for problem in problems:
        if problem in vault:
            continue
        name = problem.where.rpartition(": ")[2]
        assert name in ARTIFACTS, problem.as_line()
        flagged.add(name)
    assert flagged == ARTIFACTS


def test_every_variable_is_a_role_option_or_a_site_variable():
    options = {name for role in GATEWAY_ROLES for name in role_options(ROLES, role)}
    unknown = [
        f"{path.relative_to(SITE)}: {name}"
        for path, names in _set_variables().items()
        for name in sorted(names)
        if name not in options and name not in SITE_VARIABLES and not name.startswith("ansible_")
    ]
    assert unknown == []


def test_every_required_role_option_is_set():
    names = set().union(*_set_variables().values())
    assert required_options(ROLES) - names == set()


def _comment_above(lines: list[str], index: int) -> str:
    """The comment lines right above line ``index``, joined."""
    above = []
    while index > 0 and lines[index - 1].lstrip().startswith("#"):
        index -= 1
        above.insert(0, lines[index].lstrip("# "))
    return " ".join(above)


def test_every_variable_is_documented_with_who_reads_it():
    """The comment right above each variable names its reader: a role that has the option, Ansible or airgapctl."""
    undocumented = []
    for path, names in _set_variables().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for name in sorted(names):
            pattern = re.compile(rf"^\s*{re.escape(name)}:")
            for index, line in enumerate(lines):
                if not pattern.match(line):
                    continue
                comment = _comment_above(lines, index)
                # "(role R)", or "for the R role" in the preamble airgapctl vault writes.
                roles = re.findall(r"\(role (\w+)\)|the (\w+) role", comment)
                if name.startswith("ansible_"):
                    ok = "(Ansible" in comment
                elif name in SITE_VARIABLES:
                    ok = comment.endswith("(airgapctl provision).")
                else:
                    ok = any(name in role_options(ROLES, r) for pair in roles for r in pair if r)
                if not ok:
                    undocumented.append(f"{path.relative_to(SITE)}:{index + 1}: {name}")
    assert undocumented == []


def test_credentials_are_sealed_by_airgapctl_vault():
    credentials = store.load(SITE / "group_vars" / "gateways" / "vault.yml")
    assert credentials.entries
    for entry in credentials.entries.values():
        assert entry.vaulttext.startswith("$ANSIBLE_VAULT;")
        assert vault_id_of(entry.vaulttext) == "airgap"
