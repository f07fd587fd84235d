"""What the toolkit is: the parts of the project tree that travel with the media, and which of
their files do.

Standard library only: setup.py reads this file to copy the parts into the wheel, so the wheel's
toolkit and a bundle's are the same files.
"""

import re
from pathlib import Path

TOOLKIT_PARTS = ("roles", "playbooks", "inventory", "ansible.cfg", "constraints.txt")
# Caches and Molecule's working files: never part of a folder a bundle carries.
SKIP_NAMES = frozenset({"__pycache__", ".pytest_cache", ".molecule", ".cache"})
# An Ansible Vault header at a line's start: a vaulted file, or a value sealed inside YAML.
_SEALED = re.compile(rb"^[ \t]*\$ANSIBLE_VAULT;[0-9]", re.MULTILINE)
# A vault password file by its usual names (vault-pass, vault_pass.txt, .vault_password ...).
_PASSWORD_FILE = re.compile(r"(^|[._-])vault[._-]?pass(word)?([._-]|$)", re.IGNORECASE)
# Documentation may show the format; it holds no credential.
_PROSE = (".md", ".rst", ".txt")


def carried(path: Path) -> bool:
    """Whether a toolkit file travels: a site's sealed credentials and vault passwords stay with the
    controller that uses them, never on media every appliance unpacks world-readable."""
    if _PASSWORD_FILE.search(path.name):
        return False
    if path.suffix in _PROSE:
        return True
    with open(path, "rb") as handle:
        return not _SEALED.search(handle.read())


def folder_files(source: Path) -> list[Path]:
    """Regular files under source, links and caches left out: what a bundle carries of a folder.

    Only the names below source count: a toolkit installed in a venv under ~/.cache is no cache.
    """
    files = [p for p in sorted(source.rglob("*")) if p.is_file() and not p.is_symlink()]
    return [p for p in files if not SKIP_NAMES & set(p.relative_to(source).parts)]


def toolkit_tree(source: Path) -> list[Path]:
    """The files of one toolkit folder that travel."""
    return [path for path in folder_files(source) if carried(path)]
