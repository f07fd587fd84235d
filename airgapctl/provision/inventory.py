"""The inventory as Ansible reads it: hosts, groups, vault secrets, each host's variables after precedence.

Everything goes through Ansible's own Python API (InventoryManager, DataLoader, VariableManager,
Templar), so preflight sees the values ansible-playbook will; nothing here writes anything.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airgapctl.provision.problems import Problem, first_line, one_line, shown

GATEWAYS = "gateways"
BASTIONS = "bastions"
KNOWN_GROUPS = {"all", "ungrouped", GATEWAYS, BASTIONS}
VAULT_MARKERS = (b"!vault", b"$ANSIBLE_VAULT;")
VAULT_FIX = "give --vault-password-file or --vault-id LABEL@FILE, or set ANSIBLE_VAULT_PASSWORD_FILE"
WRONG_PASSWORD = "the vault password is missing or wrong"  # noqa: S105 - a message
# Lookups that only read; any other (pipe, password, url, lines ...) could run or write something,
# so a value that needs one is left unchecked.
READ_ONLY_LOOKUPS = {
    "env", "file", "fileglob", "first_found", "vars", "varnames", "ini", "csvfile", "unvault", "items",
    "list", "dict", "indexed_items", "nested", "sequence", "together", "subelements", "inventory_hostnames",
    "config", "template",
}  # fmt: skip
_MAX_SCAN_BYTES = 16 << 20


class Unrendered:
    """A value whose templates cannot be resolved before the play (facts, lookups, undefined names)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class HostVars:
    name: str
    group: str  # GATEWAYS or BASTIONS
    raw: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)
    templar: Any = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.raw

    def value(self, name: str, default: Any = None) -> Any:
        """The templated value; an Unrendered when it cannot be templated now; ``default`` when unset."""
        if name not in self.raw:
            return default
        if name not in self._cache:
            self._cache[name] = render(self.templar, self.raw[name])
        return self._cache[name]

    def where(self, name: str, inventory: Path) -> str:
        """The file that set ``name`` when Ansible recorded it, else the inventory and the host."""
        place = self.origins.get(name)
        return f"{place}: {name}" if place else f"{shown(inventory)}: host {self.name}: {name}"


def origin_path(value: Any) -> str | None:
    """The file Ansible's data tags say ``value`` came from (Ansible 2.19+ records it for YAML values)."""
    try:
        from ansible._internal._datatag._tags import Origin
    except ImportError:  # an Ansible without data tags: the caller names the host instead
        return None
    tag = Origin.get_tag(value)
    return shown(tag.path) if tag is not None and tag.path else None


def error_place(error: BaseException) -> str | None:
    """The file an Ansible error points at, looked for along its causes."""
    seen = 0
    while error is not None and seen < 10:
        obj = getattr(error, "obj", None)
        path = getattr(obj, "path", None) or (origin_path(obj) if obj is not None else None)
        if isinstance(path, str) and path and not path.startswith("<"):
            return shown(path)
        error = error.__cause__ or error.__context__
        seen += 1
    return None


def inventory_files(inventory: Path) -> list[Path]:
    """Every file the inventory consists of, its group_vars and host_vars included."""
    roots = (
        [inventory]
        if inventory.is_dir()
        else [inventory, inventory.parent / "group_vars", inventory.parent / "host_vars"]
    )
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files += sorted(
                p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
    return files


def vaulted_files(inventory: Path) -> list[Path]:
    """Files holding a ``!vault`` value or a vault-encrypted whole file."""
    found = []
    for path in inventory_files(inventory):
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_SCAN_BYTES)
        except OSError:
            continue
        if any(marker in data for marker in VAULT_MARKERS):
            found.append(path)
    return found


def vault_sources(
    password_file: Path | None, vault_ids: list[str] | tuple[str, ...], environ: Mapping[str, str]
) -> list[tuple[str | None, str]]:
    """(label, source) of every password given, as ansible-playbook would take them."""
    sources: list[tuple[str | None, str]] = []
    listed = list(vault_ids) + [s for s in environ.get("ANSIBLE_VAULT_IDENTITY_LIST", "").split(",") if s.strip()]
    for slug in listed:
        label, _, source = slug.strip().rpartition("@")
        sources.append((label or None, source))
    files = [str(password_file)] if password_file is not None else []
    if environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        files.append(environ["ANSIBLE_VAULT_PASSWORD_FILE"])
    sources += [(None, f) for f in files]
    return sources


def load_secrets(loader: Any, sources: list[tuple[str | None, str]]) -> tuple[list[tuple[str, Any]], list[Problem]]:
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import get_file_vault_secret

    secrets, problems = [], []
    for label, source in sources:
        vault_id = label or C.DEFAULT_VAULT_IDENTITY
        if source in ("prompt", "prompt_ask_vault_pass"):
            problems.append(Problem("preflight never prompts for a vault password", f"vault id {vault_id}", VAULT_FIX))
            continue
        try:
            secret = get_file_vault_secret(filename=os.path.abspath(source), vault_id=vault_id, loader=loader)
            secret.load()
        except AnsibleError as error:
            problems.append(
                Problem(f"cannot read the vault password: {one_line(error.message)}", shown(source), VAULT_FIX)
            )
            continue
        secrets.append((vault_id, secret))
    return secrets, problems


@contextlib.contextmanager
def ansible_context(secrets: list[tuple[str, Any]]) -> Iterator[None]:
    """Ansible's process-wide state for one check: the vault secrets templating decrypts with, and only
    read-only lookups; both restored afterwards, so checks can run again in one process."""
    from ansible._internal._templating import _jinja_plugins
    from ansible.parsing.vault import VaultSecretsContext
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is None:
        init_plugin_loader()
    previous_secrets, previous_loader = VaultSecretsContext._current, _jinja_plugins.lookup_loader
    VaultSecretsContext._current = VaultSecretsContext(secrets)
    _jinja_plugins.lookup_loader = _ReadOnlyLookups(previous_loader)
    try:
        yield
    finally:
        VaultSecretsContext._current, _jinja_plugins.lookup_loader = previous_secrets, previous_loader


class _ReadOnlyLookups:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def get(self, name: str, *args: Any, **kwargs: Any) -> Any:
        from ansible.errors import AnsibleError

        if name.removeprefix("ansible.builtin.") not in READ_ONLY_LOOKUPS:
            raise AnsibleError(f"lookup {name!r} is not run by preflight")
        return self._loader.get(name, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def render(templar: Any, value: Any) -> Any:
    if templar is None:
        return value
    try:
        return templar.template(value)
    except Exception as error:  # any template failure leaves the value unchecked
        return Unrendered(first_line(error))


def _recording_manager(failures: list[tuple[str, BaseException | None]]):
    from ansible.inventory.manager import InventoryManager

    attempts: dict[str, list[tuple[str, BaseException]]] = {}

    class Recording(InventoryManager):
        """Records why an inventory source failed to parse, which Ansible only prints as warnings."""

        def _fetch_inventory_plugins(self):
            return [_RecordingPlugin(plugin, attempts) for plugin in super()._fetch_inventory_plugins()]

        def parse_source(self, source, cache=False):
            parsed = super().parse_source(source, cache=cache)
            tried = attempts.pop(source, [])
            if not parsed and not os.path.isdir(source):
                failures.append((source, _likeliest(source, tried)))
            return parsed

    return Recording


def _likeliest(source: str, tried: list[tuple[str, BaseException]]) -> BaseException | None:
    """The error of the plugin the file was meant for: yaml for .yml and .yaml, ini otherwise."""
    meant = "yaml" if source.endswith((".yml", ".yaml")) else "ini"
    for plugin, error in tried:
        if plugin.rpartition(".")[2] == meant:
            return error
    return tried[-1][1] if tried else None


class _RecordingPlugin:
    def __init__(self, plugin: Any, attempts: dict[str, list[tuple[str, BaseException]]]) -> None:
        self._plugin, self._attempts = plugin, attempts

    def parse(self, inventory: Any, loader: Any, source: str, cache: bool = False) -> Any:
        try:
            return self._plugin.parse(inventory, loader, source, cache=cache)
        except Exception as error:
            name = str(getattr(self._plugin, "_load_name", ""))
            self._attempts.setdefault(source, []).append((name, error))
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._plugin, name)


def _quiet_display() -> contextlib.AbstractContextManager:
    """Ansible's warnings about the inventory become problems here; they are not printed too."""
    from ansible.utils.display import Display

    display = Display()
    stack = contextlib.ExitStack()
    for method in ("warning", "error_as_warning", "deprecated"):
        if hasattr(display, method):
            stack.enter_context(_patched(display, method, lambda *a, **k: None))
    return stack


@contextlib.contextmanager
def _patched(obj: Any, name: str, replacement: Any) -> Iterator[None]:
    had = name in vars(obj)
    previous = vars(obj).get(name)
    setattr(obj, name, replacement)
    try:
        yield
    finally:
        if had:
            setattr(obj, name, previous)
        else:
            delattr(obj, name)


_MAGIC = re.compile(r"^(ansible_play_|ansible_facts$|ansible_version$|ansible_config_file$|playbook_dir$)")


def load_inventory(
    inventory: Path, loader: Any, secrets: list[tuple[str, Any]], limit: str | None, vault_missing: bool
) -> tuple[list[HostVars], list[Problem]]:
    """Parse the inventory and each target host's variables; every failure a problem."""
    from ansible.errors import AnsibleError
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    problems: list[Problem] = []
    failures: list[tuple[str, BaseException | None]] = []
    if not inventory.exists():
        return [], [Problem("the inventory does not exist", shown(inventory), "give the inventory's file or directory")]
    loader.set_vault_secrets(secrets)
    with _quiet_display():
        try:
            manager = _recording_manager(failures)(loader=loader, sources=[str(inventory)])
        except AnsibleError as error:
            return [], [Problem(f"cannot read the inventory: {one_line(error.message)}", shown(inventory), "fix it")]
    reported = set()
    for source, error in failures:
        place = (error_place(error) if error is not None else None) or shown(source)
        if place in reported or (error is None and any(p.where == place for p in problems)):
            continue
        reported.add(place)
        why = one_line(getattr(error, "message", error)) if error is not None else "no inventory plugin could parse it"
        problems.append(
            Problem(f"not a valid inventory file: {why}", place, "fix the YAML or move the file out of the inventory")
        )
    if failures:
        return [], problems
    problems += _layout_problems(manager, inventory)
    gateways = _group_hosts(manager, GATEWAYS)
    bastions = _group_hosts(manager, BASTIONS)
    if not gateways:
        problems.append(
            Problem(
                f"no host in group {GATEWAYS}",
                shown(inventory),
                f"put the gateway appliances in group {GATEWAYS}",
            )
        )
    for name in sorted(gateways & bastions):
        problems.append(
            Problem(f"host {name} is in both {GATEWAYS} and {BASTIONS}", shown(inventory), "keep it in one of them")
        )
    if limit:
        manager.subset(limit)
    targets = [h for h in manager.get_hosts("all") if h.name in gateways | bastions]
    if limit and not targets:
        problems.append(
            Problem(
                f"--limit {limit} matches no gateway or bastion",
                shown(inventory),
                "give a host or group of the inventory",
            )
        )
    manager_vars = VariableManager(loader=loader, inventory=manager)
    hosts = []
    for host in sorted(targets, key=lambda h: h.name):
        try:
            with _quiet_display():
                variables = manager_vars.get_vars(host=host, include_hostvars=False)
        except AnsibleError as error:
            if vault_missing and "vault" in str(error).lower():
                continue  # the missing password is reported once
            place = error_place(error) or f"{shown(inventory)}: host {host.name}"
            problems.append(
                Problem(f"cannot read the host's variables: {one_line(error.message)}", place, "fix that file")
            )
            continue
        raw = {k: v for k, v in variables.items() if not _MAGIC.match(k)}
        origins = {k: o for k, v in raw.items() if (o := origin_path(v))}
        group = GATEWAYS if host.name in gateways else BASTIONS
        hosts.append(HostVars(host.name, group, raw, origins, Templar(loader=loader, variables=variables)))
    return hosts, problems


def _group_hosts(manager: Any, group: str) -> set[str]:
    found = manager.groups.get(group)
    return {h.name for h in found.get_hosts()} if found is not None else set()


def _layout_problems(manager: Any, inventory: Path) -> list[Problem]:
    problems = []
    top = manager.groups["all"].child_groups
    for group in sorted(g.name for g in top if g.name not in KNOWN_GROUPS):
        problems.append(
            Problem(
                f"unknown group {group}: the inventory's groups are {GATEWAYS} and {BASTIONS}",
                shown(inventory),
                f"make it a child group of {GATEWAYS} or {BASTIONS}, or remove it",
            )
        )
    for host in sorted(h.name for h in manager.groups["ungrouped"].get_hosts()):
        problems.append(Problem(f"host {host} is in no group", shown(inventory), f"put it in {GATEWAYS} or {BASTIONS}"))
    return problems


def undecryptable(hosts: list[HostVars], secrets: list[tuple[str, Any]], inventory: Path) -> list[Problem]:
    """One problem per file holding a vaulted value none of the given passwords opens."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import EncryptedString, VaultLib

    vault = VaultLib(secrets)
    problems, seen = [], set()
    for host in hosts:
        for name, value in host.raw.items():
            for path, item in _walk(value, name):
                if not isinstance(item, EncryptedString):
                    continue
                place = origin_path(item) or host.origins.get(name) or f"{shown(inventory)}: host {host.name}"
                if place in seen:
                    continue
                try:
                    vault.decrypt(item._ciphertext)
                except AnsibleError:
                    seen.add(place)
                    problems.append(Problem(f"{path} cannot be decrypted: {WRONG_PASSWORD}", place, VAULT_FIX))
    return problems


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
