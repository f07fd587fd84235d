"""airgap_check_facts: what ansible-runner's events leave out of a check-mode run, for airgapctl drift.

ansible-runner's runner_on_skipped event carries no result, so why a task was skipped is lost: its
module does not support check mode, a condition tests ansible_check_mode, or an ordinary condition
was false. Nor does any event say whether a task ran in check mode or for real (``check_mode:
false``, which the roles use for private scratch areas that report changed on every run).

Nor does a no_log result's event say whether it changed: ansible-runner replaces the whole result.

This callback writes one JSON line per host result to the file named by AIRGAPCTL_CHECK_FACTS: the
host, the task's id, its effective check mode, its changed flag, and for a skipped result only the
fields that say why (a no_log result is censored by Ansible before any callback sees it, and is
written as censored).
It runs inside ansible-playbook, which may not have airgapctl to import: it imports nothing of it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: airgap_check_facts
    type: aggregate
    short_description: records each result's check mode and skip reason for airgapctl drift
    description:
      - Writes one JSON line per host result to the file AIRGAPCTL_CHECK_FACTS names.
    requirements:
      - enabled by airgapctl drift (ANSIBLE_CALLBACKS_ENABLED)
"""

PATH_VARIABLE = "AIRGAPCTL_CHECK_FACTS"
WHY = ("skip_reason", "skipped_reason", "false_condition", "msg", "skipped")
TEXT_KEPT = 300
ITEMS_KEPT = 200


def _why(result: Any) -> dict[str, Any]:
    """The fields of a skipped result that say why it was skipped, and its items'."""
    if not isinstance(result, dict):
        return {}
    if "censored" in result or result.get("_ansible_no_log"):
        return {"censored": True}
    why: dict[str, Any] = {}
    for key in WHY:
        value = result.get(key)
        if isinstance(value, bool):
            why[key] = value
        elif isinstance(value, str):
            why[key] = value[:TEXT_KEPT]
    items = result.get("results")
    if isinstance(items, list):
        why["results"] = [_why(item) for item in items[:ITEMS_KEPT]]
    return why


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "airgap_check_facts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(PATH_VARIABLE)

    def _write(self, kind: str, result: Any, skip: dict[str, Any] | None = None) -> None:
        if not self._path:
            return
        task = result._task
        line = {
            "kind": kind,
            "host": result._host.get_name(),
            "task_uuid": str(task._uuid),
            "action": str(getattr(task, "resolved_action", None) or task.action or ""),
            "check_mode": task.check_mode is True,
            # Ansible keeps a no_log result's changed flag; ansible-runner's event drops it with the rest.
            "changed": isinstance(result._result, dict) and result._result.get("changed") is True,
        }
        if skip is not None:
            line["skip"] = skip
        # Opened a line at a time: the file holds every result up to an interrupted run's end.
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result: Any) -> None:
        self._write("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._write("failed", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._write("skipped", result, _why(result._result))

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._write("unreachable", result)
