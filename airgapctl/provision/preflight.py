"""What ``airgapctl provision`` checks before it changes anything, each failure one Problem.

The inventory (Ansible's own reading of it), the vault password, every host's variables against
the roles' argument specs and the site schema, the bundle (the trust core, check-only), the
compiled policy and its credentials, the TLS files and CRL, and (``reach``) that every host
answers Ansible. All problems are collected; a check that needs an earlier one to have passed
(variables need the inventory) is skipped when it did not. Nothing is written anywhere: no
ledger, no accepted state, no spec verdict cache, no file of the inventory.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from airgapctl.provision.artifacts import (
    DEFAULT_MARGIN_DAYS,
    check_access,
    check_bundle,
    check_credentials,
    check_tls,
    load_policy_file,
)
from airgapctl.provision.inventory import (
    GATEWAYS,
    VAULT_FIX,
    HostVars,
    Unrendered,
    ansible_context,
    load_inventory,
    load_secrets,
    undecryptable,
    vault_sources,
    vaulted_files,
)
from airgapctl.provision.problems import Problem, shown
from airgapctl.provision.reach import check_reach
from airgapctl.provision.variables import check_roles, check_site, required_options

__all__ = ["Problem", "check", "check_inventory"]

TLS_VARIABLES = (
    "gateway_proxy_server_cert_src",
    "gateway_proxy_server_key_src",
    "gateway_proxy_client_ca_src",
    "gateway_proxy_client_crl_src",
)


def _roles_dir() -> Path:
    from airgapctl.bundle_build.inputs import PACKAGED_TOOLKIT

    return PACKAGED_TOOLKIT / "roles"


def check(
    inventory: Path,
    *,
    limit: str | None = None,
    vault_password_file: Path | None = None,
    vault_ids: list[str] | tuple[str, ...] = (),
    reach: bool = True,
    roles_dir: Path | None = None,
    now: dt.datetime | None = None,
    environ: Mapping[str, str] | None = None,
    accepted_dir: Path | None = None,
    verified: list[tuple[Path, Path]] | None = None,
) -> list[Problem]:
    """Every problem found with ``inventory`` (a file or directory), in the order of the checks.

    ``accepted_dir``: the controller's record of deployed bundles (an older one is refused);
    ``verified`` gets each bundle that passed, for the run to record."""
    inventory = Path(inventory)
    environ = os.environ if environ is None else environ
    now = now or dt.datetime.now(dt.UTC)
    roles_dir = roles_dir or _roles_dir()
    loader, secrets, vault_missing, problems = _vault(inventory, vault_password_file, vault_ids, environ)

    with ansible_context(secrets):
        hosts, inventory_problems = load_inventory(inventory, loader, secrets, limit, vault_missing)
        problems += inventory_problems
        if secrets:
            problems += undecryptable(hosts, secrets, inventory)
        reported = required_options(roles_dir)
        for host in hosts:
            problems += check_roles(host, roles_dir, inventory)
        problems += check_site(hosts, inventory, reported)
        for host in hosts:
            problems += _check_files(host, inventory, now, accepted_dir, verified)

    if reach and hosts:
        problems += check_reach(inventory, [h.name for h in hosts], _vault_args(vault_password_file, vault_ids))
    return _unique(problems)


def check_inventory(
    inventory: Path,
    *,
    limit: str | None = None,
    vault_password_file: Path | None = None,
    vault_ids: list[str] | tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> list[Problem]:
    """The inventory's problems alone: it parses, its groups, the vault password opens it, ``limit``
    matches a host. What a run that changes nothing (airgapctl drift) needs before it starts: the
    other checks judge what a run would deploy, which is what such a run is there to show."""
    inventory = Path(inventory)
    environ = os.environ if environ is None else environ
    loader, secrets, vault_missing, problems = _vault(inventory, vault_password_file, vault_ids, environ)
    with ansible_context(secrets):
        hosts, inventory_problems = load_inventory(inventory, loader, secrets, limit, vault_missing)
        problems += inventory_problems
        if secrets:
            problems += undecryptable(hosts, secrets, inventory)
    return _unique(problems)


def _vault(
    inventory: Path,
    vault_password_file: Path | None,
    vault_ids: list[str] | tuple[str, ...],
    environ: Mapping[str, str],
) -> tuple[object, list, bool, list[Problem]]:
    """Ansible's loader with the vault secrets given: (loader, secrets, no password for a vaulted
    inventory, the problems found)."""
    from ansible.parsing.dataloader import DataLoader

    problems: list[Problem] = []
    vaulted = vaulted_files(inventory) if inventory.exists() else []
    sources = vault_sources(vault_password_file, vault_ids, environ)
    vault_missing = bool(vaulted) and not sources
    if vault_missing:
        problems.append(
            Problem(
                f"the inventory holds vaulted values ({len(vaulted)} file{'s' if len(vaulted) > 1 else ''}) "
                "and no vault password was given",
                shown(vaulted[0]),
                VAULT_FIX,
            )
        )
    loader = DataLoader()
    secrets, secret_problems = load_secrets(loader, sources)
    return loader, secrets, vault_missing, problems + secret_problems


def _path(host: HostVars, name: str) -> Path | None:
    value = host.value(name)
    if value is None or isinstance(value, Unrendered) or not isinstance(value, str) or not value:
        return None
    return Path(os.path.expanduser(value))


def _int(host: HostVars, name: str, default: int) -> int:
    value = host.value(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _check_files(
    host: HostVars,
    inventory: Path,
    now: dt.datetime,
    accepted_dir: Path | None = None,
    verified: list[tuple[Path, Path]] | None = None,
) -> list[Problem]:
    """The bundle every host takes; on a gateway also its policy, credentials and TLS files."""
    problems: list[Problem] = []
    margin = _int(host, "airgap_expiry_margin_days", DEFAULT_MARGIN_DAYS)

    bundle, pubkey = _path(host, "airgap_repo_bundle_src"), _path(host, "airgap_repo_pubkey_src")
    if bundle is not None and pubkey is not None:
        name = host.value("airgap_repo_bundle_name", "")
        expected = name if isinstance(name, str) and name else None
        where = host.where("airgap_repo_bundle_src", inventory)
        problems += check_bundle(bundle, pubkey, where, margin, expected, now, accepted_dir, verified)
    if host.group != GATEWAYS:
        return problems

    policy_path = _path(host, "gateway_proxy_policy_src")
    if policy_path is not None:
        policy_where = host.where("gateway_proxy_policy_src", inventory)
        policy, found = load_policy_file(policy_path, policy_where)
        problems += found
        access = _path(host, "airgap_access_src")
        if access is not None:
            problems += check_access(access, policy, host.where("airgap_access_src", inventory))
        if policy is not None and host.has("secrets_credentials"):
            # Only the names are needed: the raw mapping, so no value is decrypted for this.
            problems += check_credentials(
                policy,
                host.raw["secrets_credentials"],
                shown(policy_path),
                host.where("secrets_credentials", inventory),
            )

    files = {name: (path, host.where(name, inventory)) for name in TLS_VARIABLES if (path := _path(host, name))}
    if files:
        crl_days = _int(host, "gateway_proxy_crl_min_valid_days", 2)
        problems += check_tls(files, margin, crl_days, now)

    certs_dir = _path(host, "gateway_proxy_selftest_certs_src")
    if certs_dir is not None and not certs_dir.is_dir():
        problems.append(
            Problem(
                f"{shown(certs_dir)} is not a directory",
                host.where("gateway_proxy_selftest_certs_src", inventory),
                "give the --out directory of airgapctl ca issue client (<client>.crt and .key)",
            )
        )
    return problems


def _vault_args(password_file: Path | None, vault_ids: list[str] | tuple[str, ...]) -> list[str]:
    args = [arg for slug in vault_ids for arg in ("--vault-id", slug)]
    if password_file is not None:
        args += ["--vault-password-file", str(password_file)]
    return args


def _unique(problems: list[Problem]) -> list[Problem]:
    """A group variable shared by many hosts is one problem, not one per host."""
    return list(dict.fromkeys(problems))
