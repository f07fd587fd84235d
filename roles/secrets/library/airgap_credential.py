#!/usr/bin/python
"""Write one upstream credential's include file for the gateway, in airgapctl's format.

The format and its rules are airgapctl's, shipped with this role as
``module_utils/airgap_credentials.py`` (a byte-identical copy of
``airgapctl/gateway/credentials.py``): the file is written before airgapctl is installed on the
appliance, and the two can never disagree about what the gateway includes.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: airgap_credential
short_description: Write an upstream credential's NGINX include file for the airgapctl gateway
description:
  - Writes O(dir)/O(name).conf, a comment naming the credential and one C(proxy_set_header) line that sends
    O(value) upstream in O(header), quoted for NGINX; the gateway includes it for every API whose upstream
    names the credential.
  - Refuses a name that is not a vault entry name, a header the gateway sets itself, and a value NGINX could
    not send exactly (control characters, line breaks, non-ASCII, C($), spaces around it); the message names
    the credential, never the value.
  - The file is replaced atomically and never exists with wider permissions than O(mode), even for a moment.
  - Needs only the Python standard library on the managed host.
version_added: "1.0.0"
options:
  dir:
    description: The credentials directory the gateway includes from; it must exist (but in check mode).
    type: path
    required: true
  name:
    description: The credential's name, as the policy's upstream credential names it.
    type: str
    required: true
  header:
    description: The request header the value is sent upstream in.
    type: str
    default: Authorization
  value:
    description: The credential's value, sent as it is (a bearer token with its C(Bearer) prefix).
    type: str
    required: true
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description: Group of the file (the gateway's worker group).
    type: str
    default: root
  mode:
    description: Permissions of the file, octal.
    type: str
    default: "0640"
notes:
  - In check mode every rule is checked and nothing is written.
  - The value is a no_log parameter; the module returns neither it nor the file's content.
attributes:
  check_mode:
    support: full
author: airgapctl developers
"""

EXAMPLES = r"""
- name: Write the petstore upstream's token for the gateway
  airgap_credential:
    dir: /etc/airgap/credentials
    name: pets-api-token
    value: "{{ secrets_credentials['pets-api-token'].value }}"
    group: www-data
  no_log: true

- name: Send an API key in a header of its own
  airgap_credential:
    dir: /etc/airgap/credentials
    name: billing-key
    header: X-Api-Key
    value: "{{ secrets_credentials['billing-key'].value }}"
    group: www-data
  no_log: true
"""

RETURN = r"""
path:
  description: The include file.
  returned: success
  type: str
  sample: /etc/airgap/credentials/pets-api-token.conf
name:
  description: The credential's name.
  returned: always
  type: str
header:
  description: The header the value is sent in.
  returned: always
  type: str
  sample: Authorization
hint:
  description: What to change when the credential was refused.
  returned: failure
  type: str
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.airgap_credentials import CredentialError, include_file_name, include_text
from ansible.module_utils.basic import AnsibleModule


def _ids(module, owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        module.fail_json(msg=f"owner {owner} does not exist on this host")
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        module.fail_json(msg=f"group {group} does not exist on this host")
    return uid, gid


def _mode(module, text):
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        module.fail_json(msg=f"mode {text!r} is not an octal file mode such as 0640")
    return mode


def _current(path):
    """(bytes, uid, gid, mode) of a regular file at ``path``, or None (missing, or not a regular file)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    with open(path, "rb") as handle:
        return handle.read(), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def _write(path, data, uid, gid, mode):
    """Replace ``path`` atomically; the temporary file starts at 0600 and gets its owner before its mode."""
    directory = os.path.dirname(path)
    fd, temp = tempfile.mkstemp(prefix=".airgap-credential.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def run(module):
    params = module.params
    name, header = params["name"], params["header"]
    result = {"name": name, "header": header}
    try:
        path = os.path.join(params["dir"], include_file_name(name))
        data = include_text(name, header, params["value"]).encode("ascii")
    except CredentialError as error:
        module.fail_json(msg=f"{error.message}; {error.hint}", hint=error.hint, **result)
    result["path"] = path
    uid, gid = _ids(module, params["owner"], params["group"])
    mode = _mode(module, params["mode"])
    if not os.path.isdir(params["dir"]) and not module.check_mode:
        module.fail_json(msg=f"credentials directory {params['dir']} does not exist", **result)
    current = _current(path)
    changed = current != (data, uid, gid, mode)
    if changed and not module.check_mode:
        if current is not None and current[0] == data:
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        else:
            _write(path, data, uid, gid, mode)
    module.exit_json(changed=changed, **result)


def main():
    module = AnsibleModule(
        argument_spec={
            "dir": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "header": {"type": "str", "default": "Authorization"},
            "value": {"type": "str", "required": True, "no_log": True},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0640"},
        },
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
