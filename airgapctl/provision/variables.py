"""Each host's variables against the roles' argument specs, and the site's cross-role facts against site.schema.json."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from airgapctl.provision.inventory import BASTIONS, GATEWAYS, HostVars, Unrendered
from airgapctl.provision.problems import Problem, one_line

# The roles each group's plays run, in playbooks/site.yml's order.
GATEWAY_ROLES = (
    "appliance_base", "airgap_repo", "airgapctl_install", "secrets", "gateway_proxy", "logging", "audit_schedule",
)  # fmt: skip
GROUP_ROLES = {GATEWAYS: GATEWAY_ROLES, BASTIONS: ("appliance_base", "airgap_repo")}
# What ArgumentSpecValidator reads of an option; the rest of argument_specs.yml is documentation.
_SPEC_KEYS = ("type", "elements", "choices", "options", "required", "aliases", "no_log")


@cache
def role_options(roles_dir: Path, role: str) -> dict[str, dict[str, Any]]:
    """The main entry point's options of ``role``'s meta/argument_specs.yml."""
    path = roles_dir / role / "meta" / "argument_specs.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document["argument_specs"]["main"].get("options") or {}


def required_options(roles_dir: Path) -> set[str]:
    return {n for r in GATEWAY_ROLES for n, o in role_options(roles_dir, r).items() if o.get("required")}


def _validator_spec(option: Mapping[str, Any]) -> dict[str, Any]:
    spec = {k: option[k] for k in _SPEC_KEYS if k in option}
    if isinstance(spec.get("options"), Mapping):
        spec["options"] = {name: _validator_spec(sub) for name, sub in spec["options"].items()}
    spec.pop("required", None)  # a missing option is reported by check_roles itself, with its place
    return spec


def checkable(host: HostVars, name: str) -> tuple[bool, Any]:
    """(True, value) to check: the templated value, or the raw container when templating needs the play."""
    value = host.value(name)
    if not isinstance(value, Unrendered):
        return True, value
    raw = host.raw[name]
    if isinstance(raw, Mapping | list) and not isinstance(raw, str):
        return True, raw
    return False, None


def check_roles(host: HostVars, roles_dir: Path, inventory: Path) -> list[Problem]:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    problems = []
    # Every role's options are known names on any host: group_vars/all may set a gateway's.
    known = {name for role in GATEWAY_ROLES for name in role_options(roles_dir, role)}
    for role in GROUP_ROLES.get(host.group, ()):
        options = role_options(roles_dir, role)
        for name, option in options.items():
            if not host.has(name):
                if option.get("required"):
                    problems.append(
                        Problem(
                            f"role {role} requires {name}, which host {host.name} does not set",
                            host.where(name, inventory),
                            f"set it in host_vars or group_vars: {_first(option)}",
                        )
                    )
                continue
            ok, value = checkable(host, name)
            if not ok:
                continue
            result = ArgumentSpecValidator({name: _validator_spec(option)}).validate({name: value})
            for error in result.errors:
                problems.append(
                    Problem(
                        f"role {role}: {one_line(error)}",
                        host.where(name, inventory),
                        f"roles/{role}/meta/argument_specs.yml: {name} is {_expected(option)}",
                    )
                )
    prefixes = tuple(f"{role}_" for role in GATEWAY_ROLES)
    for name in sorted(host.raw):
        if name.startswith(prefixes) and name not in known:
            role = next(r for r in GATEWAY_ROLES if name.startswith(f"{r}_"))
            close = difflib.get_close_matches(name, list(role_options(roles_dir, role)), n=1)
            problems.append(
                Problem(
                    f"role {role} has no option {name}",
                    host.where(name, inventory),
                    f"did you mean {close[0]}?" if close else f"see roles/{role}/meta/argument_specs.yml",
                )
            )
    return problems


def _first(option: Mapping[str, Any]) -> str:
    """The option's description up to its first full stop or semicolon."""
    description = option.get("description") or ""
    text = one_line(description[0] if isinstance(description, list) and description else description)
    text = re.sub(r"\b[BCIMOUV]\(([^)]*)\)", r"\1", text)  # Ansible's documentation markup
    return text.split("; ")[0].split(". ")[0].rstrip(".")


def _expected(option: Mapping[str, Any]) -> str:
    what = option.get("type", "str")
    if option.get("elements"):
        what += f" of {option['elements']}"
    if option.get("choices"):
        what += f", one of {', '.join(map(str, option['choices']))}"
    return what


def plain(value: Any) -> Any:
    """JSON data for the site schema: vaulted values as {"!vault": ID}, Ansible's tagged types as plain ones."""
    from ansible.parsing.vault import EncryptedString

    if isinstance(value, EncryptedString):
        from airgapctl.vault.sealing import vault_id_of

        try:
            return {"!vault": vault_id_of(value._ciphertext)}
        except ValueError:
            return {"!vault": None}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value if value is None else str(value)


def _holds_vaulted(value: Any) -> bool:
    from ansible.parsing.vault import EncryptedString

    if isinstance(value, EncryptedString):
        return True
    if isinstance(value, Mapping):
        return any(_holds_vaulted(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_vaulted(v) for v in value)
    return False


def site_document(hosts: list[HostVars]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """The document site.schema.json checks, and per host the variables left out as not yet renderable."""
    gateways, unrendered = {}, {}
    for host in hosts:
        if host.group != GATEWAYS:
            continue
        entry, skipped = {}, set()
        for name, raw in host.raw.items():
            if _holds_vaulted(raw):  # the raw form shows what is sealed; templating would decrypt it
                entry[name] = plain(raw)
                continue
            value = host.value(name)
            if isinstance(value, Unrendered):
                skipped.add(name)
            else:
                entry[name] = plain(value)
        gateways[host.name] = entry
        unrendered[host.name] = skipped
    hostnames = [
        entry.get("appliance_base_hostname", name)
        for name, entry in gateways.items()
        if isinstance(entry.get("appliance_base_hostname", name), str)
    ]
    return {"gateways": gateways, "hostnames": hostnames}, unrendered


def check_site(hosts: list[HostVars], inventory: Path, reported: set[str] = frozenset()) -> list[Problem]:
    """``reported``: required names the roles' check has already named when missing."""
    from airgapctl.schemas import describe, validator

    document, unrendered = site_document(hosts)
    by_name = {h.name: h for h in hosts}
    problems = []
    for error in sorted(validator("site").iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        if path[:1] == ["hostnames"]:
            problems += _duplicate_hostnames(document, by_name, inventory)
            continue
        if len(path) < 2:
            continue
        host = by_name[path[1]]
        if len(path) == 2 and error.validator == "required":
            missing = [n for n in error.validator_value if n not in document["gateways"][host.name]]
            for name in missing:
                if name in unrendered[host.name] or host.has(name) or name in reported:
                    continue
                problems.append(
                    Problem(
                        f"every gateway needs {name}; host {host.name} has none",
                        host.where(name, inventory),
                        "set it in the host's host_vars or the gateways' group_vars",
                    )
                )
            continue
        name = str(path[2]) if len(path) > 2 else ""
        detail = "/".join(map(str, path[3:]))
        problems.append(
            Problem(
                _site_message(name, detail, error, describe(error)),
                host.where(name, inventory),
                _site_fix(name, error),
            )
        )
    return _unique(problems)


def _site_message(name: str, detail: str, error: Any, described: str) -> str:
    place = f"{name}/{detail}" if detail else name
    if error.validator == "anyOf" and error.schema_path and "patternProperties" in error.schema_path:
        return f"{place} looks like a secret but is not vaulted"
    if error.validator == "contains" and name == "gateway_proxy_server_names":
        return f"{name} lacks 127.0.0.1, the name the gateway's self-test reaches it by"
    if detail.endswith("value") and name == "secrets_credentials":
        return f"{place} is not a !vault value: a secret in clear in the inventory"
    return f"{place}: {one_line(described)}" if detail else one_line(described)


def _site_fix(name: str, error: Any) -> str:
    if "patternProperties" in error.schema_path or name == "secrets_credentials":
        return "seal it: ansible-vault encrypt_string, or airgapctl vault set for credentials"
    return "see airgapctl/schemas/site.schema.json"


def _duplicate_hostnames(document: dict[str, Any], by_name: dict[str, HostVars], inventory: Path) -> list[Problem]:
    names = {n: e.get("appliance_base_hostname", n) for n, e in document["gateways"].items()}
    counts = Counter(names.values())
    problems = []
    for host, hostname in sorted(names.items()):
        if counts[hostname] > 1:
            others = ", ".join(sorted(h for h, n in names.items() if n == hostname and h != host))
            problems.append(
                Problem(
                    f"host {host} has host name {hostname}, as {others} does",
                    by_name[host].where("appliance_base_hostname", inventory),
                    "give every appliance its own appliance_base_hostname",
                )
            )
    return problems


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, kept = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            kept.append(problem)
    return kept
