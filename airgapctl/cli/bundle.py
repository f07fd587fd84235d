"""``airgapctl bundle``: the signed offline artifact bundle."""

from airgapctl.cli.planned import register_planned


def register(app) -> None:
    register_planned(
        app,
        "bundle",
        "Build, sign, verify, split and import the offline artifact bundle that crosses the gap.",
        "the offline artifact bundle",
    )
