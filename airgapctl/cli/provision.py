"""``airgapctl provision``: run the appliance roles against an offline inventory."""

from airgapctl.cli.planned import register_planned


def register(app) -> None:
    register_planned(
        app,
        "provision",
        "Provision gateway appliances from a verified bundle against an offline Ansible inventory.",
        "provisioning with preflight checks and progress",
    )
