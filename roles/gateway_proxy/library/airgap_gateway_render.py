#!/usr/bin/python
"""Render the gateway with the installed airgapctl, in check mode too.

``airgapctl gateway render`` is the one renderer; this module only runs it. A plain command task
is skipped in check mode, so a configuration edited by hand would never show as drift: here check
mode runs ``render --check``, which writes nothing and says what would change, with the diff.
"""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: airgap_gateway_render
short_description: Run airgapctl gateway render, or in check mode render --check
description:
  - Runs O(argv) (an C(airgapctl gateway render) command line) with C(--json); in check mode with C(--check)
    as well, so nothing is written and the result says whether the live configuration would change.
  - Never fails by itself; the caller judges RV(rc) and the JSON document in RV(stdout).
  - The diff (check mode, when the configuration would change) is the live files against the rendering;
    the configuration holds no credential (those are include files), so it is safe to show.
version_added: "1.0.0"
options:
  argv:
    description: The render command, without C(--json) and C(--check).
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: partial
    details: in check mode only
"""

EXAMPLES = r"""
- name: Render the gateway configuration with the installed airgapctl
  airgap_gateway_render:
    argv:
      - /opt/airgap/bin/airgapctl
      - gateway
      - render
      - --policy=/etc/airgap/policy.candidate.json
      - --out=/etc/nginx/airgap
  register: rendered
  failed_when: false
"""

RETURN = r"""
rc:
  description: The command's exit code.
  type: int
  returned: always
stdout:
  description: Its JSON document (airgapctl's --json envelope).
  type: str
  returned: always
stderr:
  description: Its standard error.
  type: str
  returned: always
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={"argv": {"type": "list", "elements": "str", "required": True}}, supports_check_mode=True
    )
    argv = [*module.params["argv"], "--json", *(["--check"] if module.check_mode else [])]
    rc, stdout, stderr = module.run_command(argv)
    # Never failed here: the role judges rc and the JSON document (and puts back what it replaced).
    result = {"rc": rc, "stdout": stdout, "stderr": stderr, "changed": False, "failed": False}
    try:
        data = json.loads(stdout).get("data") or {}
    except (ValueError, AttributeError):
        data = {}
    if rc == 0 and isinstance(data, dict):
        result["changed"] = bool(data.get("changed"))
        if module.check_mode and result["changed"] and data.get("diff"):
            out_dir = str(data.get("out_dir") or "")
            result["diff"] = {"before_header": out_dir, "after_header": out_dir, "prepared": data["diff"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
