"""The lab and Molecule boot instances the same way: one set of runtime options."""

from __future__ import annotations

import pytest
import yaml

from airgapctl.errors import BadInputError
from airgapctl.lab.image import CURRENT_ALIAS, PACKAGES, image_tag
from airgapctl.lab.instances import RUNTIME, container_name, run_argv


def test_molecule_base_platform_matches_the_lab_runtime(repo):
    config = yaml.safe_load((repo / ".config" / "molecule" / "config.yml").read_text())
    (platform,) = config["platforms"]
    assert platform["image"] == CURRENT_ALIAS
    assert platform["pre_build_image"] is True
    assert {key: platform[key] for key in RUNTIME} == RUNTIME
    assert config["driver"]["name"] == "docker"


def test_every_role_scenario_keeps_the_shared_platform(repo):
    for scenario in repo.glob("roles/*/molecule/*/molecule.yml"):
        overrides = yaml.safe_load(scenario.read_text()) or {}
        assert "platforms" not in overrides, f"{scenario} must not redefine the network-less platform"
        assert "driver" not in overrides, f"{scenario} must use the shared Docker driver"


def test_run_argv_is_network_less_systemd_without_privileged():
    argv = run_argv("appliance", "img:1")
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[-2:] == ["img:1", "/lib/systemd/systemd"]
    assert "--privileged" not in argv
    assert argv[argv.index("--cap-add") + 1] == "SYS_ADMIN"
    assert argv[argv.index("--name") + 1] == "airgap-lab-appliance"


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "a;b", "é"])
def test_instance_names_are_checked(name):
    with pytest.raises(BadInputError):
        container_name(name)


def test_image_tag_follows_the_recipe():
    assert image_tag().startswith("airgapctl/lab-bookworm:")
    assert "python3" in PACKAGES and "systemd" in PACKAGES
