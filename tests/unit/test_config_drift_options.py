"""config_drift renders the policy with the options the deployed gateway records in its nginx.conf."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from airgapctl.gateway.recorded_options import recorded
from airgapctl.gateway.render import RenderOptions, render_templates, template_variables
from log_analysis.detectors import DETECTORS  # the registry first: it imports every detector module
from log_analysis.drift.config_drift import compare
from log_analysis.drift.rendered import rendered_config
from tests.integration.gateway.scenario import scenario_policy

POLICY = scenario_policy(8080, 8081)
# What the gateway_proxy role renders with on an appliance: none of it the defaults.
DEPLOYED = RenderOptions(
    listen="8443",
    server_names=("gw-01.site.internal", "localhost", "127.0.0.1"),
    client_crl="/etc/airgap/tls/client-ca.crl",
    user="www-data",
    access_log="/var/log/airgap/gateway/access.log",
    access_log_buffer="64k",
    worker_processes="2",
    now=date.today(),
)


def _deploy(directory: Path, options: RenderOptions) -> Path:
    for name, text in render_templates(template_variables(POLICY, options)).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def _drift(directory: Path) -> dict[str, list]:
    options = recorded((directory / "nginx.conf").read_text())
    return compare(directory, rendered_config(POLICY, None, False, options))


def test_a_gateway_rendered_with_host_options_is_no_drift(tmp_path):
    assert "config_drift" in DETECTORS
    deployed = _deploy(tmp_path, DEPLOYED)
    assert recorded((deployed / "nginx.conf").read_text())["server_names"] == DEPLOYED.server_names
    assert _drift(deployed) == {"changed": [], "missing": [], "extra": []}


def test_a_hand_edit_beside_the_recorded_options_is_drift(tmp_path):
    deployed = _deploy(tmp_path, DEPLOYED)
    server = deployed / "gateway" / "server.conf"
    server.write_text(server.read_text().replace("gw-01.site.internal", "gw-01.site.internal evil.example"))
    changed = _drift(deployed)["changed"]
    assert [c["file"] for c in changed] == ["gateway/server.conf"]
    assert any("evil.example" in line for line in changed[0]["diff"])


def test_without_recorded_options_the_defaults_are_compared(tmp_path):
    deployed = _deploy(tmp_path, DEPLOYED)
    conf = deployed / "nginx.conf"
    conf.write_text("\n".join(line for line in conf.read_text().splitlines() if "Render options" not in line))
    assert recorded(conf.read_text()) is None
    assert _drift(deployed)["changed"]  # the host's names and CRL differ from the defaults
