"""ansible-runner's events reduced to what may be shown and kept: names, hosts, flags, counts.

A runner event carries the task's arguments and result (``res``), which may hold secrets (a
``no_log`` task's are censored by Ansible, but a plain task's are not). Nothing here copies
either: only the fields named below, and for a result only its changed flag.

A drift run (``reduce(event, drift=True)``, airgapctl drift) keeps two things more of a result:
its diff, rendered as unified diff text, never for a no_log task or one that writes credentials;
and why it could not be checked, as one of the fixed phrases below, never Ansible's own text.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

# The per-host result events; Ansible's outcome is in the name (changed is the result's flag).
RESULTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
PLAY_START = "playbook_on_play_start"
TASK_START = "playbook_on_task_start"
STATS = "playbook_on_stats"
# The playbook_on_stats counters, under the names the record and the table use.
STAT_NAMES = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}
KEPT = {"playbook_on_start", "playbook_on_no_hosts_matched", "playbook_on_no_hosts_remaining", PLAY_START,
        TASK_START, STATS, *RESULTS}  # fmt: skip


def task_name(data: dict[str, Any]) -> str:
    """``role : task`` for a role's task, as Ansible shows it; the bare name otherwise."""
    name = str(data.get("task") or data.get("name") or "")
    role = data.get("role")
    return f"{role} : {name}" if role and not name.startswith(f"{role} :") else name


def is_no_log(data: dict[str, Any]) -> bool:
    res = data.get("res")
    return isinstance(res, dict) and (bool(res.get("_ansible_no_log")) or "censored" in res)


def reduce(event: dict[str, Any], drift: bool = False) -> dict[str, Any] | None:
    """The safe record of one runner event, or None for events not kept (verbose output, item
    results, runner_on_start). ``drift``: a result also keeps ``task_uuid``, ``diff`` and
    ``not_checked`` (drift_fields)."""
    kind = event.get("event")
    if kind not in KEPT:
        return None
    data = event.get("event_data") or {}
    record: dict[str, Any] = {"event": kind, "time": event.get("created")}
    if kind == PLAY_START:
        record["play"] = str(data.get("name") or data.get("play") or "")
    elif kind == TASK_START:
        record.update(play=str(data.get("play") or ""), task=task_name(data), action=_action(data))
    elif kind in RESULTS:
        res = data.get("res")
        record.update(
            host=str(data.get("host") or ""),
            task=task_name(data),
            action=_action(data),
            changed=isinstance(res, dict) and res.get("changed") is True,
            failed=kind == "runner_on_failed",
            ignored=kind == "runner_on_failed" and bool(data.get("ignore_errors")),
            no_log=is_no_log(data),
        )
        if kind in ("runner_on_failed", "runner_on_unreachable") and not record["ignored"] and not record["no_log"]:
            record["message"] = failure_message(res)
        if drift:
            record.update(drift_fields(kind, data))
    elif kind == STATS:
        record["hosts"] = stats_by_host(data)
    return record


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# Ansible's own error lines outside any task result (a role not found, a vault secret missing) and
# the file and line they point at; the quoted source lines after them are left out.
_ERROR_LINE = re.compile(r"(\[ERROR\]: |ERROR! |Origin: )")
ERROR_LINE_LIMIT = 300


def ansible_error(event: dict[str, Any]) -> str | None:
    """The error line of a ``verbose`` event (Ansible's output outside tasks), or None."""
    if event.get("event") != "verbose":
        return None
    line = _COLOUR.sub("", str(event.get("stdout") or "")).strip()
    return line[:ERROR_LINE_LIMIT] if _ERROR_LINE.match(line) else None


def failure_message(res: Any) -> str:
    """What a failed task said, on one line, as ansible-playbook shows it: its msg, and for a command
    the last line it wrote to stderr. Never called for a no_log task (Ansible censors those anyway)."""
    if not isinstance(res, dict):
        return ""
    message = str(res.get("msg") or "")
    stderr = [line for line in str(res.get("stderr") or "").splitlines() if line.strip()]
    if stderr and stderr[-1].strip() not in message:
        message = f"{message}: {stderr[-1].strip()}" if message else stderr[-1].strip()
    message = " ".join(_COLOUR.sub("", message).split())
    return message[:ERROR_LINE_LIMIT]


def stats_by_host(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    """playbook_on_stats' counters per host: ``{host: {"ok": 3, "changed": 1, ...}}``."""
    hosts: dict[str, dict[str, int]] = {}
    for source, name in STAT_NAMES.items():
        for host, count in (data.get(source) or {}).items():
            hosts.setdefault(str(host), dict.fromkeys(STAT_NAMES.values(), 0))[name] = int(count)
    return hosts


def _action(data: dict[str, Any]) -> str:
    return str(data.get("resolved_action") or data.get("task_action") or "")


# --- drift runs -------------------------------------------------------------------------------------

# Shown instead of a diff. Ansible censors a no_log result before ansible-runner sees it, so its diff
# is not there to show; these are checked all the same, so that a result that slipped through
# uncensored (a loop item, a plugin that forgets) is never shown either.
HIDDEN_NO_LOG = "(hidden: the task is no_log)"
HIDDEN_CREDENTIALS = "(hidden: the task writes credentials)"
# The secrets role and its module write the gateway's upstream credentials: a diff of theirs would be
# the credential itself, whether or not a site's task says no_log.
SECRET_ACTIONS = {"airgap_credential"}
SECRET_ROLES = {"secrets"}
# Without creates/removes these modules skip themselves in check mode (raw always): nothing is run.
COMMANDS = {"command", "shell", "script", "raw"}
DIFF_LINES_KEPT = 400
DIFF_TEXT_KEPT = 64 << 10

# Why a result could not be checked. Fixed phrases, never the module's message: the message is part
# of the result, and a result is not kept.
NOT_RUN_COMMAND = "commands are not run in check mode"
NO_CHECK_MODE = "the module does not support check mode"
CHECK_MODE_CONDITION = "skipped in check mode by its condition (ansible_check_mode)"
SKIPPED_IN_CHECK_MODE = "skipped in check mode"
SKIPPED_HIDDEN = "skipped in check mode; why is hidden (no_log)"
FAILED_IN_CHECK_MODE = "failed in check mode"
FAILED_IGNORED = "failed in check mode (ignored)"

# The records the runner adds after a drift run, one per host result, from the check-facts callback
# (airgapctl/provision/callback_plugins/airgap_check_facts.py): whether the task ran in check mode,
# and for a skipped one why, which ansible-runner's runner_on_skipped event leaves out.
CHECK_FACTS = "airgap_check_facts"


def drift_fields(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a drift run keeps of one result: the task's id (to meet its check facts), the rendered
    and redacted diff of a change or of any no_log result (None otherwise) and, from what the event
    holds, why it was not checked (None: it was, or the event does not say)."""
    res = data.get("res")
    res = res if isinstance(res, dict) else {}
    action = _action(data)
    # A no_log result's event has lost its changed flag (the check facts keep it): its marker is kept
    # whatever the flag says, so a change the facts report still shows as hidden.
    changed = kind == "runner_on_ok" and (res.get("changed") is True or is_no_log(data))
    not_checked = None
    if kind == "runner_on_failed":
        not_checked = FAILED_IGNORED if data.get("ignore_errors") else FAILED_IN_CHECK_MODE
    elif kind == "runner_on_skipped" and _short_action(action) in COMMANDS:
        # ansible-runner's skipped event has no result: the module is all it says (the check facts,
        # when recorded, say whether a condition skipped it instead).
        not_checked = NOT_RUN_COMMAND
    elif kind == "runner_on_ok" and isinstance(res.get("results"), list) and not is_no_log(data):
        # A loop some of whose items were skipped by check mode: those items were not checked.
        not_checked = next(
            (why for item in res["results"] if isinstance(item, dict) and item.get("skipped")
             and (why := skip_reason(item, action)) is not None),
            None,
        )  # fmt: skip
    return {
        "task_uuid": str(data.get("task_uuid") or ""),
        "diff": diff_text(data) if changed else None,
        "not_checked": not_checked,
    }


def diff_text(data: dict[str, Any]) -> str:
    """The unified diff of a changed result (its items' for a loop), or a marker when it is hidden;
    "" when the module gives none."""
    if is_no_log(data):
        return HIDDEN_NO_LOG
    if writes_credentials(data):
        return HIDDEN_CREDENTIALS
    res = data.get("res")
    if not isinstance(res, dict):
        return ""
    parts = [render_diff(res.get("diff"))]
    for item in res.get("results") or []:
        if not isinstance(item, dict):
            continue
        if "censored" in item or item.get("_ansible_no_log"):
            parts.append(HIDDEN_NO_LOG + "\n")
        elif item.get("changed") is True:
            parts.append(render_diff(item.get("diff")))
    return _bounded("".join(parts))


def writes_credentials(data: dict[str, Any]) -> bool:
    """A task of the secrets role, or one that runs its module wherever it is."""
    actions = {_short_action(str(data.get(k) or "")) for k in ("resolved_action", "task_action")}
    roles = {str(data.get(k) or "") for k in ("role", "resolved_role")}
    return bool(actions & SECRET_ACTIONS) or bool(roles & SECRET_ROLES) or _names_secret_role(data)


def _names_secret_role(data: dict[str, Any]) -> bool:
    # "secrets : Write ..." also when only the task's name carries the role (an included task).
    return any(str(data.get("task") or "").startswith(f"{role} :") for role in SECRET_ROLES)


def render_diff(diff: Any) -> str:
    """Ansible's diff of a result (a dict or a list of dicts: before/after with their headers, or
    ``prepared`` text) as unified diff text, each line ending in a newline."""
    if isinstance(diff, list):
        return "".join(render_diff(part) for part in diff)
    if not isinstance(diff, dict):
        return ""
    if diff.get("src_binary") or diff.get("dst_binary"):
        return "(binary file: no diff)\n"
    if diff.get("src_larger") or diff.get("dst_larger"):
        return f"(file larger than {diff.get('src_larger') or diff.get('dst_larger')} bytes: no diff)\n"
    if isinstance(diff.get("prepared"), str):
        return _lines(diff["prepared"])
    if "before" not in diff and "after" not in diff:
        return ""
    before, after = _diff_side(diff.get("before")), _diff_side(diff.get("after"))
    if before == after:
        return ""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        _header("before", diff.get("before_header")),
        _header("after", diff.get("after_header")),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _diff_side(value: Any) -> str:
    # Modules such as file give their attributes as a mapping: shown one key a line, as Ansible does.
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def _header(side: str, header: Any) -> str:
    return f"{side}: {header}" if isinstance(header, str) and header else side


def _lines(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _bounded(text: str) -> str:
    """At most DIFF_LINES_KEPT lines and DIFF_TEXT_KEPT characters: the record of a run that would
    rewrite a large file stays small."""
    lines = text.splitlines(keepends=True)
    kept = "".join(lines[:DIFF_LINES_KEPT])[:DIFF_TEXT_KEPT]
    left = len(lines) - kept.count("\n")
    return kept + (f"... ({left} more lines)\n" if left > 0 else "")


def skip_reason(result: Any, action: str) -> str | None:
    """Why a result that was skipped in check mode was not checked, or None for a skip that check
    mode did not cause (a false condition, an empty loop, a command whose creates file exists).

    Evidence (Ansible 2.19): a condition's skip carries ``skip_reason`` and ``false_condition``; a
    loop with no items ``skipped_reason``; a module without check mode says so in ``msg``; command
    and shell say "Command would have run if not in check mode", script "Check mode is not supported
    for this task."; raw and actions such as wait_for_connection skip with no message at all.
    """
    if not isinstance(result, dict):
        return None
    if result.get("censored"):
        return SKIPPED_HIDDEN
    items = result.get("results")
    if isinstance(items, list) and items:
        return next((why for item in items if (why := skip_reason(item, action)) is not None), None)
    if "skip_reason" in result or "skipped_reason" in result:
        condition = result.get("false_condition")
        return CHECK_MODE_CONDITION if isinstance(condition, str) and "ansible_check_mode" in condition else None
    message = result.get("msg")
    if isinstance(message, str) and message:
        lowered = message.lower()
        if "check mode" not in lowered:
            return None
        if _short_action(action) in COMMANDS:
            return NOT_RUN_COMMAND
        return NO_CHECK_MODE if "not support" in lowered else SKIPPED_IN_CHECK_MODE
    return NOT_RUN_COMMAND if _short_action(action) in COMMANDS else SKIPPED_IN_CHECK_MODE


def reduce_check_facts(line: Any) -> dict[str, Any] | None:
    """The safe record of one line of the check-facts callback, or None for a line that is not one:
    the host, the task's id, whether it ran in check mode and, for a skipped result, why it was not
    checked (skip_reason), and whether it changed, never the fields the reason was read from."""
    if (
        not isinstance(line, dict)
        or not isinstance(line.get("host"), str)
        or not isinstance(line.get("task_uuid"), str)
    ):
        return None
    check_mode = line.get("check_mode") is True
    not_checked = None
    if line.get("kind") == "skipped" and check_mode:
        not_checked = skip_reason(line.get("skip") or {}, str(line.get("action") or ""))
    return {
        "event": CHECK_FACTS,
        "host": line["host"],
        "task_uuid": line["task_uuid"],
        "kind": str(line.get("kind") or ""),
        "check_mode": check_mode,
        "changed": line.get("changed") is True,
        "not_checked": not_checked,
    }


def _short_action(action: str) -> str:
    """``ansible.builtin.command`` and ``ansible.legacy.command`` are ``command``."""
    return action.rpartition(".")[2]
