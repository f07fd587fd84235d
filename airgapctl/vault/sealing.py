"""One credential value sealed with Ansible Vault, exactly as ``ansible-playbook --vault-id`` opens it."""

from __future__ import annotations

import re

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted, parse_vaulttext_envelope

from airgapctl.errors import BadInputError

DEFAULT_VAULT_ID = "airgap"
# A label Ansible can carry in the envelope and take in --vault-id LABEL@SOURCE: no ';' or '@'.
_VAULT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_vault_id(label: str) -> str:
    if not _VAULT_ID.fullmatch(label):
        raise BadInputError(
            f"--vault-id {label!r} is not a vault id label",
            hint="use 1 to 64 letters, digits, '.', '_' or '-', e.g. --vault-id airgap",
        )
    return label


def seal(value: str, password: bytes, vault_id: str) -> str:
    """The vault text of ``value`` (a ``$ANSIBLE_VAULT;1.2;AES256;<vault_id>`` envelope), newline-terminated."""
    secret = VaultSecret(password)
    text = VaultLib([(vault_id, secret)]).encrypt(value, secret, vault_id=vault_id).decode("ascii")
    return text.strip() + "\n"


def unseal(vaulttext: str, password: bytes) -> str | None:
    """The value sealed in ``vaulttext``, or None when ``password`` does not open it."""
    try:
        plain = VaultLib([("any", VaultSecret(password))]).decrypt(vaulttext)
    except AnsibleError:
        return None
    return plain.decode("utf-8", errors="surrogateescape")


def vault_id_of(vaulttext: str) -> str | None:
    """The vault id in the envelope (None for a 1.1 envelope without one); ValueError if not vault text."""
    if not is_encrypted(vaulttext.strip()):
        raise ValueError("not Ansible Vault text")
    try:
        _, _, _, vault_id = parse_vaulttext_envelope(vaulttext.strip().encode("ascii"), default_vault_id=None)
    except (AnsibleError, UnicodeEncodeError, ValueError, IndexError):
        raise ValueError("a malformed Ansible Vault envelope") from None
    return vault_id
