"""A self-test that cannot reach the gateway says so in one line, it never shows a traceback."""

from __future__ import annotations

import pytest

from airgapctl.errors import EnvironmentProblem
from airgapctl.gateway.selftest import run_selftest
from tests.integration.gateway import pki
from tests.integration.gateway.nginx_process import free_port
from tests.integration.gateway.scenario import ALICE, NOW, scenario_policy


def test_no_gateway_listening_is_one_environment_error_naming_the_url(tmp_path):
    ca = pki.authority(tmp_path, "ca")
    pki.issue(ca, tmp_path, "alice", ALICE)
    url = f"https://127.0.0.1:{free_port()}"
    with pytest.raises(EnvironmentProblem, match=rf"the gateway at {url} did not answer"):
        run_selftest(scenario_policy(20001, 20002), url, tmp_path, ca.cert_path, today=NOW)
