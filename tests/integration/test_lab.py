"""A real lab appliance: Docker, systemd as PID 1, no network, converged by the real playbook."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from airgapctl.lab.apt_sources import debian_mirror
from tests.integration.conftest import run_tool

pytestmark = pytest.mark.integration

NAME = "pytest-lab"


@pytest.fixture(scope="module")
def instance(lab_image):
    from airgapctl.lab import down, up

    down(NAME)
    first = up(NAME)
    yield first
    down(NAME)


@pytest.fixture(scope="module")
def inventory(instance, tmp_path_factory):
    """The lab inventory's group_vars with a gateway host for this test's instance."""
    path = tmp_path_factory.mktemp("inventory") / "hosts.yml"
    shutil.copytree(Path(__file__).parents[2] / "inventory/lab/group_vars", path.parent / "group_vars")
    path.write_text(
        "all:\n  children:\n    gateways:\n      hosts:\n"
        f"        {NAME}:\n          ansible_connection: community.docker.docker\n"
        f"          ansible_host: airgap-lab-{NAME}\n"
    )
    return path


def _recap(output: str) -> dict[str, int]:
    match = re.search(rf"^{NAME}\s+:\s+(.*)$", output, re.MULTILINE)
    assert match, output[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_up_starts_a_network_less_systemd_instance_and_is_idempotent(instance, cli):
    assert instance.changed is True
    assert instance.instance.systemd == "running"
    assert instance.instance.network_mode == "none"
    assert instance.instance.interfaces == ["lo"]
    again = cli("lab", "up", NAME, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["data"]["changed"] is False


def test_status_lists_the_instance(instance, cli):
    result = cli("lab", "status", "--json")
    assert result.exit_code == 0
    listed = {i["name"]: i for i in json.loads(result.stdout)["data"]}
    assert listed[NAME]["state"] == "running"
    assert listed[NAME]["network_mode"] == "none"
    text = cli("lab", "status")
    assert re.search(rf"^{NAME}\s+airgap-lab-{NAME}\s+running\s+running\s+none\s+lo$", text.stdout, re.MULTILINE)


def test_base_playbooks_converge_then_change_nothing(inventory, repo, test_bundle):
    """Every appliance's plays (base and bundle); the gateway's own are the site scenario's and the demo's."""
    env = {"AIRGAPCTL_BUNDLE": str(test_bundle.path), "AIRGAPCTL_BUNDLE_PUBKEY": str(test_bundle.public_key)}
    argv = ["ansible-playbook", "-i", str(inventory), "playbooks/appliance_base.yml", "playbooks/airgap_repo.yml"]
    first = run_tool(argv, cwd=repo, extra_env=env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert _recap(first.stdout)["failed"] == 0
    second = run_tool(argv, cwd=repo, extra_env=env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert _recap(second.stdout)["changed"] == 0


def test_a_task_reaching_for_the_network_fails_inside_the_instance(inventory, repo):
    """The Debian mirror this host uses is reachable from the host, never from the instance."""
    url = f"{debian_mirror()}/dists/bookworm/Release"
    argv = [
        "ansible",
        NAME,
        "-i",
        str(inventory),
        "-m",
        "ansible.builtin.get_url",
        "-a",
        f"url={url} dest=/tmp/r timeout=5",
    ]
    proc = run_tool(argv, cwd=repo)
    assert proc.returncode != 0
    assert re.search(r"FAILED!.*(unreachable|Name or service not known|name resolution|No address)", proc.stdout, re.S)


def test_down_removes_it(lab_image, cli):
    from airgapctl.lab import up

    up("pytest-lab-down")
    assert cli("lab", "down", "pytest-lab-down").stdout.strip() == "instance pytest-lab-down: removed"
    assert cli("lab", "down", "pytest-lab-down").stdout.strip() == "instance pytest-lab-down: not present"
    names = [i["name"] for i in json.loads(cli("lab", "status", "--json").stdout)["data"]]
    assert "pytest-lab-down" not in names
